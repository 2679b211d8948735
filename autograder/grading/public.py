"""What `course check` needs on a student's machine: no solutions, no hidden split, no dataset.

A student has the release and the pretrained weights, not `solutions/` nor the hidden test
images. So the public checks run on inputs made here by grader code (synthetic images, a
frozen transfer model assembled from `keras.applications`, untrained) and are compared with a
*reference snapshot*: `checks/reference.json`, which `course release` derives from the reference
solution on exactly these inputs. The snapshot holds numbers and layer descriptions only
(parameter counts, trainable splits, crop positions), never solution code.

`course release --check` regenerates the snapshot, so it cannot drift from the solutions.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from autograder.checks.parameters import ParameterCounts, parameter_counts
from autograder.checks.result import CheckFailure
from autograder.checks.trainability import LayerTrainability, describe_trainability
from autograder.config import CourseConfig, Profile
from autograder.context import CourseContext
from autograder.grading.errors import SnapshotError
from autograder.grading.inputs import INPUTS_VERSION, GradingInputs, build_folder, build_once
from autograder.probes.declare import PROBES_FILE

SNAPSHOT = "reference.json"
SNAPSHOT_VERSION = 2
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


def _rows(model) -> list[list]:
    return [[getattr(row, name) for name in ROW_FIELDS] for row in describe_trainability(model)]


def _counts(model) -> dict:
    counts = parameter_counts(model)
    return {"total": counts.total, "trainable": counts.trainable, "non_trainable": counts.non_trainable}


# -- typed snapshot values: what a lab's `public_snapshot` returns, and how they are read back --
def parameter_counts_value(model) -> dict:
    """A model's parameter counts (what `reference.<name>` gives the public checks)."""
    return {"kind": "parameter_counts", "value": _counts(model)}


def trainability_value(model) -> dict:
    """A model's layer-by-layer trainability rows."""
    return {"kind": "trainability", "value": _rows(model)}


def crop_boxes_value(images: np.ndarray, crops: np.ndarray, crop: int, images_file: str, function: str, count: int) -> dict:
    """Where the reference cut its crops of `coordinate_images` (read back by cutting the public inputs' images).

    Raises:
        SnapshotError: the reference's crops are not plain (mirrored) crops, so positions cannot describe them.
    """
    crops = np.asarray(crops)
    shape = (count, images.shape[0], crop, crop, images.shape[-1])
    boxes = crop_boxes(crops, crop) if crops.shape == shape else []
    if crops.shape != shape or not np.array_equal(cut_crops(images, boxes), crops):
        raise SnapshotError(
            f"Expected the reference `{function}` to return plain crops (some mirrored) of shape {shape}. "
            f"Received: shape {crops.shape} that positions cannot describe"
        )
    return {"kind": "crop_boxes", "value": {"boxes": boxes, "images": images_file}}


def _restore(entry, inputs: GradingInputs):
    kind, value = entry.get("kind"), entry.get("value")
    if kind == "parameter_counts":
        return ParameterCounts(int(value["total"]), int(value["trainable"]), int(value["non_trainable"]))
    if kind == "trainability":
        return [LayerTrainability(**dict(zip(ROW_FIELDS, row))) for row in value]
    if kind == "crop_boxes":
        with np.load(inputs.worker / value["images"], allow_pickle=False) as data:
            images = data["images"]
        return cut_crops(images, value["boxes"])
    return value


def profile_snapshot(lab, profile: Profile, definition) -> dict:
    """The reference's expected values for the public checks on the public inputs of `profile`."""
    import keras  # noqa: PLC0415

    settings = definition.probe_settings(profile, Path("imagenet.h5"))
    keras.backend.clear_session()  # layer names in the snapshot do not depend on what ran before
    keras.utils.set_random_seed(int(settings["seed"]))
    values = dict(definition.public_snapshot(lab, profile, settings))
    return {"settings": {name: settings[name] for name in definition.snapshot_settings}, **values}


def snapshot_text(lab, config: CourseConfig, definition) -> str:
    """`checks/reference.json` for every profile of `config`, as deterministic JSON text."""
    model = getattr(definition.module, "Profile", None)  # the lab's own typed profile, if it has one
    typed = {name: model.model_validate(p.model_dump()) if model else p for name, p in config.profiles.items()}
    profiles = {name: profile_snapshot(lab, typed[name], definition) for name in sorted(typed)}
    document = {
        "about": "Expected values of the public checks, derived from the reference solution by `course release`.",
        "version": SNAPSHOT_VERSION,
        "row_fields": list(ROW_FIELDS),
        "profiles": profiles,
    }
    text = json.dumps(document, indent=1, sort_keys=True)
    # One line per layer row (a list of plain values), so the file reads as a table.
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
    def read(cls, path: Path, profile_name: str, inputs: GradingInputs, settings_names: tuple[str, ...]) -> SnapshotReference:
        """The snapshot of `profile_name`, refused when it was made for other values of `settings_names`."""
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
        wanted = {name: inputs.settings[name] for name in settings_names}
        made_for = values.get("settings", {})
        changed = sorted(name for name in settings_names if made_for.get(name) != wanted[name])
        if changed:
            detail = ", ".join(f"{name}: snapshot {made_for.get(name)!r}, course.yaml {wanted[name]!r}" for name in changed)
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
