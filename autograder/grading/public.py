"""What `course check` needs on a student's machine: no solutions, no hidden split, no dataset.

A student has the release and the pretrained weights, not `solutions/` nor the hidden test
images. So the public checks run on inputs the lab's grader code makes from synthetic data (its
`build_inputs` with `build.public`), and are compared with a *reference snapshot*:
`checks/reference.json`, which `course release` makes by running the lab's probes on the
reference solution, on exactly these inputs: the same probes and call protocol as grading. The
snapshot keeps what the public checks read of each artifact as data a student may see
(parameter counts and trainable splits of a model, crop positions, small arrays, JSON), never a
model file or solution code.

`course release --check` regenerates the snapshot, so it cannot drift from the solutions.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import tempfile
from pathlib import Path

import numpy as np

from autograder.checks.parameters import ParameterCounts
from autograder.checks.result import CheckFailure
from autograder.checks.summary import ModelSummary
from autograder.checks.trainability import LayerTrainability
from autograder.config import CourseConfig, Profile
from autograder.context import CourseContext
from autograder.grading.errors import SnapshotError
from autograder.grading.inputs import INPUTS_VERSION, GradingInputs, build_folder, build_once
from autograder.probes.declare import PROBES_FILE

SNAPSHOT = "reference.json"
SNAPSHOT_VERSION = 3
ROW_FIELDS = ("path", "kind", "trainable", "trainable_params", "non_trainable_params", "container")


# -- inputs made by grader code ---------------------------------------------------------------
def coordinate_images(count: int, side: int) -> np.ndarray:
    """Images whose pixels say where they are: channel 0 = row, 1 = column, 2 = 60 x image index.

    A crop of these shows where it was cut from and whether it was mirrored, so the expected
    ten crops are a list of positions rather than pixels.
    """
    rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    images = np.zeros((count, side, side, 3), "float32")
    images[..., 0], images[..., 1] = rows, cols
    images[..., 2] = 60.0 * np.arange(count)[:, None, None]
    return images


def _digest(profile: Profile, weights_file: Path, probes: Path, definition_file: Path) -> str:
    text = f"{INPUTS_VERSION}|public|{SNAPSHOT_VERSION}|{profile.budget_json()}|{Path(weights_file).name if weights_file else '-'}"
    digest = hashlib.sha256(text.encode())
    for path in (Path(probes), Path(definition_file)):
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:16]


def prepare_public_inputs(ctx: CourseContext, profile_name: str, console=None) -> GradingInputs:
    """The inputs of the public checks for a profile, built by grader code (cached)."""
    profile = ctx.profile(profile_name)
    weights_file = ctx.weights_file(profile)
    definition = ctx.definition(public=True)  # a student has the release, not the solutions
    settings = definition.probe_settings(profile, weights_file)
    probes = ctx.release_dir / PROBES_FILE
    root = ctx.locations.cache_dir / "grading" / f"public-{ctx.lab}-{profile_name}-{_digest(profile, weights_file, probes, definition.source)}"

    def build(staging: Path) -> None:
        if console is not None:
            console.print(f"Preparing the public checks' inputs for profile {profile_name!r} (once; cached in {root})")
        build_folder(staging, definition, profile, settings, weights_file, probes, public=True)

    build_once(root, build, {"profile": profile_name, "public": True})
    return GradingInputs(root, profile_name, profile, settings, definition.weights_parts)


# -- the snapshot, derived from the reference at release time ---------------------------------
def crop_boxes(crops: np.ndarray, crop: int) -> list[dict]:
    """Where each crop of `coordinate_images` was cut: top, left and whether it is mirrored."""
    boxes = []
    for index in range(crops.shape[0]):
        first = crops[index, 0]
        mirrored = bool(crops.shape[3] > 1 and first[0, 1, 1] < first[0, 0, 1])
        left = int(first[0, -1, 1] if mirrored else first[0, 0, 1])
        boxes.append({"top": int(first[0, 0, 0]), "left": left, "mirrored": mirrored, "size": int(crop)})
    return boxes


def cut_crops(images: np.ndarray, boxes: list[dict]) -> np.ndarray:
    """The crops that `boxes` describe, cut from `images`: shape (len(boxes), N, c, c, C)."""
    out = []
    for box in boxes:
        top, left, size = box["top"], box["left"], box["size"]
        crop = images[:, top : top + size, left : left + size, :]
        out.append(crop[:, :, ::-1, :] if box["mirrored"] else crop)
    return np.stack(out).astype(images.dtype)


def _rows(rows) -> list[list]:
    return [[getattr(row, name) for name in ROW_FIELDS] for row in rows]


# -- the snapshot: the lab's probes run on the reference, on the public inputs ----------------
MAX_INLINE = 4096  # numbers an array artifact may hold to be kept as it is in the snapshot


def public_reference_names(check_sources: list[str]) -> tuple[str, ...]:
    """The `reference.<name>` values the public checks use, read from their source text."""
    names = set()
    for text in check_sources:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "reference":
                names.add(node.attr)
    return tuple(sorted(names))


def _crops_entry(crops: np.ndarray, worker: Path) -> dict | None:
    """`crops` as positions in one of the public inputs' image arrays, if they are plain (mirrored) crops of it."""
    if crops.ndim != 5 or crops.shape[2] != crops.shape[3]:
        return None
    for path in sorted(worker.glob("*.npz")):
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        for key, images in arrays.items():
            if images.ndim != 4 or images.shape[0] != crops.shape[1] or images.shape[-1] != crops.shape[-1]:
                continue
            boxes = crop_boxes(crops, crops.shape[2])
            if np.array_equal(cut_crops(images, boxes), crops):
                return {"kind": "crops", "value": {"boxes": boxes, "images": path.name, "key": key}}
    return None


def _array_entry(name: str, array: np.ndarray, worker: Path) -> dict:
    array = np.asarray(array)
    crops = _crops_entry(array, worker)
    if crops is not None:
        return crops
    if array.size > MAX_INLINE:
        raise SnapshotError(
            f"Expected `reference.{name}`, which a public check uses, to hold at most {MAX_INLINE:,} numbers "
            f"or to be crops of a public input's images, to keep it in {SNAPSHOT}. Received: an array of shape {array.shape}"
        )
    return {"kind": "array", "value": {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.ravel().tolist()}}


def snapshot_entry(name: str, value, worker: Path) -> dict:
    """What the snapshot keeps of one reference artifact: data a student may see, never a model file.

    A model becomes its parameter counts and trainability rows; an array its crop positions
    (crops of a public input) or its numbers (small arrays only); JSON stays as it is.
    """
    import keras  # noqa: PLC0415

    if isinstance(value, keras.Model):
        summary = ModelSummary.of(value)
        counts = summary.counts
        return {"kind": "model", "value": {
            "counts": {"total": counts.total, "trainable": counts.trainable, "non_trainable": counts.non_trainable},
            "rows": _rows(summary.rows),
        }}
    if isinstance(value, np.ndarray):
        return _array_entry(name, value, worker)
    if isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
        return {"kind": "arrays", "value": {key: _array_entry(f"{name}[{key!r}]", v, worker) for key, v in value.items()}}
    return {"kind": "json", "value": value}


def _restore(entry, inputs: GradingInputs):
    kind, value = entry.get("kind"), entry.get("value")
    if kind == "model":
        counts = value["counts"]
        return ModelSummary(
            ParameterCounts(int(counts["total"]), int(counts["trainable"]), int(counts["non_trainable"])),
            tuple(LayerTrainability(**dict(zip(ROW_FIELDS, row))) for row in value["rows"]),
        )
    if kind == "crops":
        with np.load(inputs.worker / value["images"], allow_pickle=False) as data:
            images = data[value["key"]]
        return cut_crops(images, value["boxes"])
    if kind == "array":
        return np.asarray(value["data"], dtype=value["dtype"]).reshape(value["shape"])
    if kind == "arrays":
        return {key: _restore(item, inputs) for key, item in value.items()}
    return value


def _plain(value):
    """`value` as it reads back from JSON (tuples become lists), so settings compare alike."""
    return json.loads(json.dumps(value))


def snapshot_settings(definition, profile: Profile, without: dict) -> dict:
    """The probe settings a snapshot depends on: all of them but those that name this machine's files
    (the weights file), found by comparing `without` (the lab's `probe_settings` without a weights
    file) with its settings with one."""
    with_file = definition.probe_settings(profile, Path("weights") / "imagenet.h5")
    return _plain({name: value for name, value in without.items() if with_file.get(name) == value})


def _run_reference_probes(part: str, module: Path, inputs: Path, out: Path, settings: dict, probes: tuple[str, ...], probes_file: Path) -> None:
    """Run `probes` of `part` on the reference module in this process (trusted code; fresh Keras names)."""
    import sys  # noqa: PLC0415

    import keras  # noqa: PLC0415

    from autograder.probes.protocol import ProbeRequest  # noqa: PLC0415
    from autograder.probes.worker import run  # noqa: PLC0415

    keras.backend.clear_session()  # layer names in the snapshot do not depend on what ran before
    saved = list(sys.path)
    try:
        outcomes = run(ProbeRequest(part, str(module), str(inputs), str(out), settings, probes, str(probes_file)))
    finally:
        sys.path[:] = saved
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise SnapshotError(f"Probe {failed[0].name} failed on the reference's {part} module:\n{str(failed[0].error)[-2000:]}")


def profile_snapshot(definition, profile: Profile, solutions: Path, parts: dict[str, str], names: tuple[str, ...]) -> dict:
    """The reference's side of the public checks on the public inputs of `profile`.

    The same probes the grader runs on every submission, run on the reference modules, on the
    inputs `course check` makes on a student's machine (built here without weights: the values
    kept do not depend on them). `parts`: part -> module file; `names`: what the checks use.
    """
    import keras  # noqa: PLC0415

    from autograder.grading.fixtures import artifacts_of  # noqa: PLC0415
    from autograder.probes.declare import LabProbes  # noqa: PLC0415

    probes_source = Path(solutions) / PROBES_FILE
    artifacts = artifacts_of(LabProbes.read(probes_source))
    unknown = [name for name in names if name not in artifacts]
    if unknown:
        raise SnapshotError(
            f"Expected every `reference.<name>` of the public checks to be an artifact of {probes_source}. "
            f"Received: {', '.join(unknown)} (see `course checks --fixtures`)"
        )
    settings = definition.probe_settings(profile, None)
    recorded = snapshot_settings(definition, profile, settings)  # before the lab's build sees them
    wanted: dict[str, list[str]] = {}  # part -> the probes that make what the checks read
    for name in names:
        probes = wanted.setdefault(artifacts[name].part, [])
        if artifacts[name].probe not in probes:
            probes.append(artifacts[name].probe)
    with tempfile.TemporaryDirectory(prefix="course-snapshot-") as scratch:
        root = Path(scratch)
        keras.backend.clear_session()  # the inputs' layer names do not depend on what ran before
        probes_file = build_folder(root / "inputs", definition, profile, settings, None, probes_source, public=True)
        worker = root / "inputs" / "worker"
        for part, probes in wanted.items():
            _run_reference_probes(part, Path(solutions) / parts[part], worker / part, root / "out" / part, settings, tuple(probes), probes_file)
        values = {name: snapshot_entry(name, artifacts[name].load(root / "out" / artifacts[name].part), worker) for name in names}
    return {"settings": recorded, **values}


def snapshot_text(config: CourseConfig, definition, solutions: Path, names: tuple[str, ...]) -> str:
    """`checks/reference.json` for every profile of `config`, as deterministic JSON text."""
    model = getattr(definition.module, "Profile", None)  # the lab's own typed profile, if it has one
    typed = {name: model.model_validate(p.model_dump()) if model else p for name, p in config.profiles.items()}
    parts = {part: spec.module for part, spec in config.parts.items()}
    profiles = {name: profile_snapshot(definition, typed[name], solutions, parts, names) for name in sorted(typed)}
    document = {
        "about": "Expected values of the public checks: the lab's probes run on the reference solution by `course release`.",
        "version": SNAPSHOT_VERSION,
        "row_fields": list(ROW_FIELDS),
        "profiles": profiles,
    }
    text = json.dumps(document, indent=1, sort_keys=True)
    # One line per layer row or crop box (a list of plain values), so the file reads as a table.
    text = re.sub(r"\[\n\s+([^\[\]{}]*?)\n\s+\]", lambda m: "[" + " ".join(x.strip() for x in m.group(1).split("\n")) + "]", text)
    return text + "\n"


class SnapshotReference:
    """The `reference` of the public checks, read from the snapshot instead of the solutions.

    It offers what the public checks ask for; anything else fails that check with the reason
    (hidden checks need the grader's copy of the reference).
    """

    def __init__(self, values: dict, inputs: GradingInputs, source: Path) -> None:
        self._values = values
        self._inputs = inputs
        self._source = source
        self._restored: dict[str, object] = {}

    @classmethod
    def read(cls, path: Path, profile_name: str, inputs: GradingInputs) -> SnapshotReference:
        """The snapshot of `profile_name`, refused when it was made for other probe settings than `inputs`'."""
        path = Path(path)
        if not path.is_file():
            raise SnapshotError(f"Expected the reference snapshot {path}. Received: no such file (run `course release`)")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            version, profiles = document["version"], document["profiles"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SnapshotError(f"Expected a reference snapshot in {path}. Received: unreadable ({exc})") from None
        if version != SNAPSHOT_VERSION:
            raise SnapshotError(f"Expected snapshot version {SNAPSHOT_VERSION} in {path}. Received: version={version!r}")
        if profile_name not in profiles:
            raise SnapshotError(
                f"Expected a snapshot of profile {profile_name!r} in {path}. Received: profiles {sorted(profiles)}"
            )
        values = profiles[profile_name]
        made_for, wanted = values.get("settings", {}), _plain(inputs.settings)
        changed = sorted(name for name in made_for if wanted.get(name) != made_for[name])
        if changed:
            detail = ", ".join(f"{name}: snapshot {made_for[name]!r}, course.yaml {wanted.get(name)!r}" for name in changed)
            raise SnapshotError(
                f"The reference snapshot {path} was made for other settings of profile {profile_name!r} ({detail}). "
                "Run `course release` again."
            )
        return cls(values, inputs, path)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._values or name == "settings":
            raise CheckFailure(
                f"The reference snapshot {self._source.name} has no {name!r}: this check needs the grader's reference."
            )
        if name not in self._restored:
            entry = self._values[name]
            self._restored[name] = _restore(entry, self._inputs) if isinstance(entry, dict) else entry
        return self._restored[name]
