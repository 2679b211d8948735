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
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from autograder.bases import populate_keras_home
from autograder.checks.parameters import ParameterCounts, parameter_counts
from autograder.checks.result import CheckFailure
from autograder.checks.trainability import LayerTrainability, describe_trainability
from autograder.config import CourseConfig, Profile
from autograder.context import CourseContext
from autograder.grading.errors import SnapshotError
from autograder.grading.inputs import (
    INPUTS_VERSION,
    PROBE_IMAGES,
    GradingInputs,
    _split_by_part,
    build_once,
    copy_probes,
    dummy_model,
    feature_probe_images,
    settings_for,
    tta_model,
)
from autograder.probes.declare import PROBES_FILE

SNAPSHOT = "reference.json"
SNAPSHOT_VERSION = 1
PUBLIC_TTA_IMAGES = 2
# The settings a snapshot depends on: a snapshot made for other values is refused.
SNAPSHOT_SETTINGS = (
    "architecture", "alpha", "base_size", "scratch_other_size", "scratch_dropout", "tta_crop",
    "tta_resize_to", "transfer_dropout", "fine_tune_at", "augmentation_size",
)
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


def public_augmentation(seed: int, side: int):
    """A fixed augmentation block for `side` px images, passed where the lab takes `augmentation=`."""
    import keras  # noqa: PLC0415

    block = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=seed)], name="public_augmentation")
    block.build((None, side, side, 3))
    return block


def public_frozen_model(settings: Mapping):
    """A frozen-base transfer model assembled by grader code (randomly initialised, compiled).

    What `unfreeze_top` and `compile_for_fine_tuning` are called on in the public checks: the
    same base, in the same place, as the lab's transfer model.
    """
    import keras  # noqa: PLC0415

    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    keras.utils.set_random_seed(int(settings["seed"]))
    size = settings["base_size"]
    base = reference_base({**settings, "weights_file": None})  # frozen; weights do not matter here
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(settings["transfer_dropout"])(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs, name="public_frozen_model")
    model.compile(optimizer=keras.optimizers.Adam(settings["transfer_lr"]), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def public_settings(profile: Profile, weights_file: Path) -> dict:
    settings = settings_for(profile, weights_file)
    settings["tta_resize_to"] = profile.tta.resize_to
    return settings


def _digest(profile: Profile, weights_file: Path, probes: Path) -> str:
    text = f"{INPUTS_VERSION}|public|{SNAPSHOT_VERSION}|{profile.model_dump_json()}|{Path(weights_file).name}"
    digest = hashlib.sha256(text.encode())
    digest.update(Path(probes).read_bytes() if Path(probes).is_file() else b"<no probes>")
    return digest.hexdigest()[:16]


def _build(root: Path, settings: dict, weights_file: Path, profile: Profile, probes: Path) -> None:
    worker, hidden = root / "worker", root / "hidden"
    worker.mkdir(parents=True)
    hidden.mkdir(parents=True)
    copy_probes(probes, worker)
    seed = int(settings["seed"])
    rng = np.random.default_rng(seed)
    dummy_model().save(worker / "dummy_model.keras")
    populate_keras_home(worker / "keras", profile.base.architecture, profile.base.alpha, weights_file)
    side = settings["base_size"]
    images = rng.uniform(0, 255, (PROBE_IMAGES, side, side, 3)).astype("float32")
    np.savez(worker / "probe_images.npz", images=images, labels=np.arange(PROBE_IMAGES) % 2)
    np.savez(worker / "feature_probe.npz", images=feature_probe_images(images))
    np.savez(worker / "tta.npz", images=coordinate_images(PUBLIC_TTA_IMAGES, settings["tta_resize_to"]))
    tta_model(settings["tta_crop"]).save(worker / "tta_model.keras")
    for name, size in (("augmentation_scratch.keras", settings["scratch_size"]), ("augmentation_base.keras", side)):
        public_augmentation(seed, size).save(worker / name)
    features = rng.normal(size=(PROBE_IMAGES, 8)).astype("float32")
    np.savez(worker / "linear.npz", train=features, labels=np.arange(PROBE_IMAGES) % 2)
    np.savez(hidden / "linear_eval.npz", validation=features, test=features[:0])
    public_frozen_model(settings).save(worker / "frozen_model.keras")
    np.savez(hidden / "labels.npz", test=np.zeros((0,), np.int32), validation=np.zeros((0,), np.int32))
    _split_by_part(worker)


def prepare_public_inputs(ctx: CourseContext, profile_name: str, console=None) -> GradingInputs:
    """The inputs of the public checks for a profile, built by grader code (cached)."""
    profile = ctx.profile(profile_name)
    weights_file = ctx.weights_file(profile)
    settings = public_settings(profile, weights_file)
    probes = ctx.release_dir / PROBES_FILE  # a student has the release, not the solutions
    root = ctx.locations.cache_dir / "grading" / f"public-{profile_name}-{_digest(profile, weights_file, probes)}"

    def build(staging: Path) -> None:
        if console is not None:
            console.print(f"Preparing the public checks' inputs for profile {profile_name!r} (once; cached in {root})")
        _build(staging, settings, weights_file, profile, probes)

    build_once(root, build, {"profile": profile_name, "public": True})
    return GradingInputs(root, profile_name, profile, settings)


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


def profile_snapshot(lab, profile: Profile) -> dict:
    """The reference's expected values for the public checks on the public inputs of `profile`.

    Raises:
        SnapshotError: the reference's `ten_crops` is not a set of plain (mirrored) crops, so
            positions cannot describe it.
    """
    import keras  # noqa: PLC0415

    from autograder.probes.context import nested_base  # noqa: PLC0415

    settings = public_settings(profile, Path("imagenet.h5"))
    keras.backend.clear_session()  # layer names in the snapshot do not depend on what ran before
    keras.utils.set_random_seed(int(settings["seed"]))
    images = coordinate_images(PUBLIC_TTA_IMAGES, settings["tta_resize_to"])
    crops = np.asarray(lab.augmentation.ten_crops(images.copy(), settings["tta_crop"]))
    boxes = crop_boxes(crops, settings["tta_crop"])
    if crops.shape != (10, *images.shape[:1], settings["tta_crop"], settings["tta_crop"], 3) or not np.array_equal(
        cut_crops(images, boxes), crops
    ):
        raise SnapshotError(
            "Expected the reference `ten_crops` to return plain crops (some mirrored) of shape "
            f"(10, N, {settings['tta_crop']}, {settings['tta_crop']}, 3). Received: shape {crops.shape} that positions cannot describe"
        )
    scratch = lab.scratch
    other = settings["scratch_other_size"]
    fe, ft = lab.feature_extraction, lab.fine_tuning
    size = settings["base_size"]
    base = fe.load_base((size, size, 3), alpha=settings["alpha"], weights=None)
    transfer = fe.compile_transfer_model(
        fe.build_transfer_model(
            base, augmentation=public_augmentation(int(settings["seed"]), size), dropout=settings["transfer_dropout"]
        ),
        learning_rate=settings["transfer_lr"],
    )
    frozen = public_frozen_model(settings)
    ft.unfreeze_top(nested_base(frozen), settings["fine_tune_at"])
    fine_tune = ft.compile_for_fine_tuning(frozen, learning_rate=settings["fine_tune_lr"])
    return {
        "settings": {name: settings[name] for name in SNAPSHOT_SETTINGS},
        "ten_crops": boxes,
        "scratch_150": _counts(scratch.build_scratch_cnn((150, 150, 3))),
        "scratch_other": _counts(scratch.build_scratch_cnn((other, other, 3))),
        "base": _counts(base),
        "transfer_model": _rows(transfer),
        "fine_tune_model": _rows(fine_tune),
    }


def snapshot_text(lab, config: CourseConfig) -> str:
    """`checks/reference.json` for every profile of `config`, as deterministic JSON text."""
    profiles = {name: profile_snapshot(lab, config.profile(name)) for name in sorted(config.profiles)}
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

    @classmethod
    def read(cls, path: Path, profile_name: str, inputs: GradingInputs) -> SnapshotReference:
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
        wanted = {name: inputs.settings[name] for name in SNAPSHOT_SETTINGS}
        made_for = values.get("settings", {})
        changed = sorted(name for name in SNAPSHOT_SETTINGS if made_for.get(name) != wanted[name])
        if changed:
            detail = ", ".join(f"{name}: snapshot {made_for.get(name)!r}, course.yaml {wanted[name]!r}" for name in changed)
            raise SnapshotError(
                f"The reference snapshot {path} was made for other settings of profile {profile_name!r} ({detail}). "
                "Run `course release` again."
            )
        return cls(values, inputs, path)

    def _value(self, name: str):
        if name not in self._values:
            raise CheckFailure(
                f"The reference snapshot {self._source.name} has no {name!r}: this check needs the grader's reference."
            )
        return self._values[name]

    @property
    def ten_crops(self) -> np.ndarray:
        with np.load(self._inputs.worker / "tta.npz", allow_pickle=False) as data:
            images = data["images"]
        return cut_crops(images, self._value("ten_crops"))

    def _counts(self, name: str) -> ParameterCounts:
        value = self._value(name)
        return ParameterCounts(int(value["total"]), int(value["trainable"]), int(value["non_trainable"]))

    def _trainability(self, name: str) -> list[LayerTrainability]:
        return [LayerTrainability(**dict(zip(ROW_FIELDS, row))) for row in self._value(name)]

    @property
    def scratch_150(self) -> ParameterCounts:
        return self._counts("scratch_150")

    @property
    def scratch_other(self) -> ParameterCounts:
        return self._counts("scratch_other")

    @property
    def base(self) -> ParameterCounts:
        return self._counts("base")

    @property
    def transfer_model(self) -> list[LayerTrainability]:
        return self._trainability("transfer_model")

    @property
    def fine_tune_model(self) -> list[LayerTrainability]:
        return self._trainability("fine_tune_model")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._value(name)
