"""What the grader prepares once per profile and shares across submissions.

The worker folder (`worker/`) holds only what student code may read: a few training images,
the reference features of the *training* split with their labels (rows in a seeded random
order), images for the feature probe that appear in no array a worker can read (validation
images with noise drawn from the operating system's randomness when the cache is built, so no
table of features made in advance can answer them), the reference augmentation blocks and a
frozen model to fine-tune. Nothing of the hidden split, features, labels or order, is ever in
it: the validation and hidden features live in `hidden/`, and the grader applies the student's
exported linear classifier to them itself. Each part reads only its own folder
(`PART_INPUTS`), and only the parts in `WEIGHTS_PARTS` see the pretrained weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows: no locking; the grader's sandbox needs Linux anyway)
    fcntl = None

from autograder.bases import populate_keras_home
from autograder.config import Profile
from autograder.context import CourseContext
from autograder.data import DataNotFoundError, locate_hidden_test
from autograder.training.lab_modules import LabModules, load_lab_modules
from autograder.training.pipeline import LabRunner
from autograder.training.seeding import seed_everything

AUGMENTATION_SIZE = 64
PROBE_IMAGES = 16
TTA_IMAGES = 4
INPUTS_VERSION = 5
# The feature probe's images: validation images plus noise of this amplitude (pixel values 0-255).
FEATURE_PROBE_NOISE = 12.0
PROBES_FOLDER = "lab"  # under `worker/`: the lab's probes file, copied for every worker


@dataclass(frozen=True)
class GradingInputs:
    """Folders and settings for one profile: `worker` is readable by student code, `hidden` is not."""

    root: Path
    profile_name: str
    profile: Profile
    settings: dict

    @property
    def worker(self) -> Path:
        return self.root / "worker"

    @property
    def hidden(self) -> Path:
        return self.root / "hidden"

    def worker_for(self, part: str) -> Path:
        """The inputs one part's worker may read (never another part's answers)."""
        return self.worker / part

    @property
    def keras_home(self) -> Path:
        return self.worker / "keras"

    @property
    def probes_dir(self) -> Path:
        """The folder of the lab's probes file, readable by every worker (public grader code)."""
        return self.worker / PROBES_FOLDER

    @property
    def probes_file(self) -> Path:
        from autograder.probes.declare import PROBES_FILE  # noqa: PLC0415

        return self.probes_dir / PROBES_FILE


def copy_probes(source: Path, worker: Path) -> Path:
    """Put the lab's probes file where every worker can read it; returns the copy."""
    from autograder.probes.declare import PROBES_FILE  # noqa: PLC0415

    if not Path(source).is_file():
        raise FileNotFoundError(f"Expected the lab's probes in {source}. Received: no such file")
    folder = worker / PROBES_FOLDER
    folder.mkdir(exist_ok=True)
    shutil.copyfile(source, folder / PROBES_FILE)
    return folder / PROBES_FILE


# A graded function that takes a setting is also called with an off-profile value, to see that
# it follows its argument: a rate this far from the profile's is no optimizer's default.
OTHER_RATE_FACTOR = 0.37
OTHER_DROPOUT = (0.13, 0.27)  # the first unless the profile uses it


def other_dropout(rate: float) -> float:
    """A dropout rate other than the profile's `rate` (and other than any usual default)."""
    return OTHER_DROPOUT[0] if abs(rate - OTHER_DROPOUT[0]) > 1e-9 else OTHER_DROPOUT[1]


def settings_for(profile: Profile, weights_file: Path) -> dict:
    """The values the probes need, as plain JSON."""
    scratch_other = profile.scratch.image_size if profile.scratch.image_size != 150 else 128
    return {
        "seed": profile.seed,
        "augmentation_size": AUGMENTATION_SIZE,
        "tta_crop": profile.base.image_size,
        "scratch_size": profile.scratch.image_size,
        "scratch_other_size": scratch_other,
        "scratch_dropout": profile.scratch.dropout,
        "scratch_dropout_other": other_dropout(profile.scratch.dropout),
        "base_size": profile.base.image_size,
        "architecture": profile.base.architecture,
        "alpha": profile.base.alpha,
        "weights_file": str(weights_file),
        "transfer_dropout": profile.transfer.dropout,
        "transfer_dropout_other": other_dropout(profile.transfer.dropout),
        "transfer_lr": profile.transfer.learning_rate,
        "transfer_lr_other": profile.transfer.learning_rate * OTHER_RATE_FACTOR,
        "fine_tune_at": profile.fine_tuning.fine_tune_at,
        "fine_tune_at_other": profile.fine_tuning.fine_tune_at + 12,
        "fine_tune_lr": profile.fine_tuning.learning_rate,
        "fine_tune_lr_other": profile.fine_tuning.learning_rate * OTHER_RATE_FACTOR,
        "patience": profile.fine_tuning.patience,
    }


def _digest(ctx: CourseContext, profile: Profile) -> str:
    solution_files = sorted(ctx.solutions_dir.glob("*.py"))
    digest = hashlib.sha256(f"{INPUTS_VERSION}|{profile.model_dump_json()}".encode())
    for path in solution_files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def tta_model(crop: int):
    """A small fixed model whose prediction differs from crop to crop (for the TTA check)."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    inputs = keras.Input((crop, crop, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 5, strides=4, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="tta_probe_model")


def dummy_model():
    """A tiny uncompiled model for probing compile functions on their own."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs), name="probe_dummy")


# Which shared inputs each part's worker may read. A part never sees a reference model of its own.
PART_INPUTS = {
    "augmentation": ("tta.npz", "tta_model.keras"),
    "scratch": ("augmentation_scratch.keras", "dummy_model.keras"),
    "feature_extraction": ("feature_probe.npz", "linear.npz", "augmentation_base.keras", "dummy_model.keras"),
    "fine_tuning": ("frozen_model.keras",),
}
# The parts whose workers may read the pretrained weights (the others never need them, and a
# scratch model that carried ImageNet weights would not be trained from scratch).
WEIGHTS_PARTS = ("feature_extraction", "fine_tuning")


def feature_probe_images(images: np.ndarray) -> np.ndarray:
    """`images` plus noise from the OS's randomness: features no worker can look up in advance."""
    rng = np.random.default_rng(int.from_bytes(os.urandom(16), "little"))
    noise = rng.uniform(-FEATURE_PROBE_NOISE, FEATURE_PROBE_NOISE, images.shape)
    return np.clip(images.astype("float32") + noise, 0, 255).astype("float32")


def shuffled(seed: int, *arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays' rows in one seeded random order (the same order for each)."""
    order = np.random.default_rng(seed).permutation(len(arrays[0]))
    return [np.asarray(a)[order] for a in arrays]


def _split_by_part(worker: Path) -> None:
    for part, names in PART_INPUTS.items():
        folder = worker / part
        folder.mkdir()
        for name in names:
            os.link(worker / name, folder / name) if hasattr(os, "link") else shutil.copyfile(worker / name, folder / name)


def _build(ctx: CourseContext, profile: Profile, lab: LabModules, root: Path, weights_file: Path) -> None:
    worker, hidden = root / "worker", root / "hidden"
    worker.mkdir(parents=True)
    hidden.mkdir(parents=True)
    dummy_model().save(worker / "dummy_model.keras")
    from autograder.probes.declare import PROBES_FILE  # noqa: PLC0415

    probes_file = copy_probes(ctx.solutions_dir / PROBES_FILE, worker)
    load = ctx.split_loader(profile)
    size, crop = profile.base.image_size, profile.base.image_size
    seed_everything(profile.seed)
    populate_keras_home(worker / "keras", profile.base.architecture, profile.base.alpha, weights_file)
    # Readable by the worker: a few training/validation images, reference blocks and features.
    train = load("train", size)
    pick = np.random.default_rng(profile.seed).permutation(len(train))[:PROBE_IMAGES]
    np.savez(worker / "probe_images.npz", images=train.images[pick].astype("float32"), labels=train.labels[pick])
    validation = load("validation", size)
    np.savez(worker / "feature_probe.npz", images=feature_probe_images(validation.images[:PROBE_IMAGES]))
    validation_large = load("validation", profile.tta.resize_to)
    np.savez(worker / "tta.npz", images=validation_large.images[:TTA_IMAGES].astype("float32"))
    tta_model(crop).save(worker / "tta_model.keras")
    for name, side in (("augmentation_scratch.keras", profile.scratch.image_size), ("augmentation_base.keras", size)):
        lab.augmentation.build_augmentation(side, side, seed=profile.seed).save(worker / name)
    runner = LabRunner(lab, profile, load, weights_file)
    base = runner.base()
    fe = lab.feature_extraction
    try:
        test = load("test", size)
    except DataNotFoundError:  # a student's `course check`: public checks need no hidden split
        test = None
    # Readable by the feature-extraction worker: the training split's features and labels only.
    train_features, train_labels = shuffled(profile.seed, fe.extract_features(base, train.images), train.labels)
    np.savez(worker / "linear.npz", train=train_features, labels=train_labels)
    # Grader only: the validation and hidden features the student's exported classifier is applied to.
    empty = np.zeros((0, base.output_shape[-1]), "float32")
    np.savez(
        hidden / "linear_eval.npz",
        validation=fe.extract_features(base, validation.images),
        test=fe.extract_features(base, test.images) if test is not None else empty,
    )
    runner.train_frozen()
    runner.transfer_model.save(worker / "frozen_model.keras")
    # Grader only: labels of the hidden split, in the order of the features above.
    hidden_labels = test.labels if test is not None else np.zeros((0,), np.int32)
    np.savez(hidden / "labels.npz", test=hidden_labels, validation=validation.labels)
    _split_by_part(worker)
    # Grader only: every probe run on the reference modules, the expected side of the checks.
    from autograder.grading.reference_outputs import FOLDER, run_reference_probes  # noqa: PLC0415

    modules = {part: ctx.solutions_dir / settings.module for part, settings in ctx.config.parts.items()}
    run_reference_probes(
        modules, {part: worker / part for part in modules}, hidden / FOLDER, settings_for(profile, weights_file), probes_file
    )


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (a no-op where the OS has no `fcntl`)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a", encoding="utf-8") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(root: Path, build: Callable[[Path], None], marker: dict) -> bool:
    """Build the cache folder `root` with `build(staging)` unless it is complete; True if built here.

    Processes that need the same folder at once (the jobs of `course grade --jobs N`, two
    batches) take turns on a lock: the first builds, the others wait and reuse its folder. A
    complete folder is never deleted, since another process may be reading it.
    """
    complete = root / "complete.json"
    if complete.is_file():
        return False
    with _exclusive(root.with_name(root.name + ".lock")):
        if complete.is_file():
            return False
        staging = root.with_name(root.name + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            build(staging)
            (staging / "complete.json").write_text(json.dumps(marker))
            shutil.rmtree(root, ignore_errors=True)  # an incomplete leftover of a killed run
            os.replace(staging, root)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return True


def prepare_inputs(ctx: CourseContext, profile_name: str, console=None) -> GradingInputs:
    """Build (or reuse from the cache) the grading inputs of a profile."""
    profile = ctx.profile(profile_name)
    weights_file = ctx.weights_file(profile)
    try:
        locate_hidden_test(ctx.config, ctx.locations)
        variant = ""
    except DataNotFoundError:
        variant = "-public"
    root = ctx.locations.cache_dir / "grading" / f"{profile_name}-{_digest(ctx, profile)}{variant}"

    def build(staging: Path) -> None:
        lab = load_lab_modules(ctx.solutions_dir, prefix="grading_reference")
        if console is not None:
            console.print(f"Preparing the grader's inputs for profile {profile_name!r} (once; cached in {root})")
        _build(ctx, profile, lab, staging, weights_file)

    build_once(root, build, {"profile": profile_name})
    return GradingInputs(root, profile_name, profile, settings_for(profile, weights_file))
