"""The digits lab as the engine sees it: its settings, data, runs, grader inputs and training.

Everything here is grader code of this lab (public: `course release` copies it). The data is
scikit-learn's bundled 8x8 digits (1,797 images, 10 classes; nothing to download). A fixed
split keeps 397 images as the hidden test split: the grader trains and measures on them in its
own process; no sandboxed worker ever reads an image of any split.
"""

from __future__ import annotations

from pydantic import Field

from autograder.config import Profile as CourseProfile
from autograder.config.models import Frozen
from autograder.grading.training import SubmissionTrainer
from autograder.lab import Run
from autograder.lab.arguments import other_dropout, other_rate
from autograder.training.pipeline import LabRunner, RunResult, timer
from autograder.training.seeding import seed_everything


# -- the lab's settings: its section of each profile in course.yaml ---------------------------
class DenseBudget(Frozen):
    hidden_units: int = Field(ge=1, le=4096)
    dropout: float = Field(ge=0.0, lt=1.0)
    learning_rate: float = Field(gt=0.0, lt=1.0)
    epochs: int = Field(ge=1)


class ConvnetBudget(Frozen):
    filters: int = Field(ge=1, le=512)
    dropout: float = Field(ge=0.0, lt=1.0)
    learning_rate: float = Field(gt=0.0, lt=1.0)
    epochs: int = Field(ge=1)


class Profile(CourseProfile):
    """A digits profile: the course's settings (seed, batch size, image counts) plus each part's budget."""

    dense: DenseBudget
    convnet: ConvnetBudget


# -- the data ---------------------------------------------------------------------------------
SIDE = 8
HIDDEN_TEST = 397
VALIDATION = 200
SPLIT_SEED = 0  # the split is part of the lab, the same for every profile


def load_split(profile, split: str, image_size: int):
    """One split of the digits as an `ImageSet`: images (N, 8, 8, 1) uint8 (values 0-16), labels 0-9.

    The split is fixed (a seeded permutation of the 1,797 images); a profile's image counts
    take a seeded subset of it.
    """
    import numpy as np  # noqa: PLC0415
    from sklearn.datasets import load_digits  # noqa: PLC0415

    from autograder.data import ImageSet  # noqa: PLC0415

    if image_size != SIDE:
        raise ValueError(f"Expected image_size={SIDE} (the digits are 8x8). Received: image_size={image_size}")
    digits = load_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(digits.target))
    ranges = {"test": order[:HIDDEN_TEST], "validation": order[HIDDEN_TEST:HIDDEN_TEST + VALIDATION], "train": order[HIDDEN_TEST + VALIDATION:]}
    if split not in ranges:
        raise ValueError(f"Expected split to be one of {sorted(ranges)}. Received: split={split!r}")
    rows = ranges[split]
    limit = {"train": profile.train_images, "validation": profile.validation_images, "test": profile.test_images}[split]
    if limit is not None and limit < len(rows):
        rows = np.sort(np.random.default_rng(profile.seed).choice(rows, size=limit, replace=False))
    images = digits.images[rows].reshape(-1, SIDE, SIDE, 1).astype("uint8")
    return ImageSet(images, digits.target[rows].astype("int32"), tuple(f"digits[{i}]" for i in rows))


# -- the runs, declared once ------------------------------------------------------------------
RUNS = (
    Run("dense", "Dense network", "0.97", "scikit-learn MLP on the digits (typical)", fixture="dense_result", needs=("dense_model",)),
    Run("convnet", "Small convnet", "0.98", "small convnets on the 8x8 digits (typical)", fixture="convnet_result", needs=("convnet_model",)),
)


class Reference(LabRunner):
    """The reference's runs: build, compile, train on the training split, measure on the hidden split."""

    runs = RUNS

    def _run(self, name: str, build, compile_, budget, **arguments) -> RunResult:
        seed_everything(self.seed)
        with timer() as took:
            model = compile_(build((SIDE, SIDE, 1), dropout=budget.dropout, **arguments), learning_rate=budget.learning_rate)
            history = self.fit(model, SIDE, budget.epochs)
        return self.evaluate(name, model, SIDE, took[0], history)

    def dense(self) -> RunResult:
        budget = self.profile.dense
        return self._run("dense", self.lab.dense.build_dense_network, self.lab.dense.compile_dense_network, budget, hidden_units=budget.hidden_units)

    def convnet(self) -> RunResult:
        budget = self.profile.convnet
        return self._run("convnet", self.lab.convnet.build_convnet, self.lab.convnet.compile_convnet, budget, filters=budget.filters)


class Grading(SubmissionTrainer):
    """Trains a submission's returned, compiled models from the grader's starting weights."""

    def dense(self, model):
        self.fresh(model)
        return self.train("dense", model, SIDE, self.profile.dense.epochs)

    def convnet(self, model):
        self.fresh(model)
        return self.train("convnet", model, SIDE, self.profile.convnet.epochs)


# -- what the probes are called with, and what the workers may read ---------------------------
def probe_settings(profile, weights_file) -> dict:
    """The values the probes need, as plain JSON (off-profile values catch ignored arguments)."""
    dense, convnet = profile.dense, profile.convnet
    return {
        "seed": profile.seed,
        "classes_other": 7,
        "dense_units": dense.hidden_units,
        "dense_units_other": dense.hidden_units + 13,
        "dense_dropout": dense.dropout,
        "dense_dropout_other": other_dropout(dense.dropout),
        "dense_lr": dense.learning_rate,
        "dense_lr_other": other_rate(dense.learning_rate),
        "convnet_filters": convnet.filters,
        "convnet_filters_other": convnet.filters + 5,
        "convnet_dropout": convnet.dropout,
        "convnet_dropout_other": other_dropout(convnet.dropout),
        "convnet_lr": convnet.learning_rate,
        "convnet_lr_other": other_rate(convnet.learning_rate),
    }


PART_INPUTS = {"dense": ("dummy_model.keras",), "convnet": ("dummy_model.keras",)}


def dummy_model():
    """A tiny uncompiled ten-class model for probing compile functions on their own."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs), name="probe_dummy")


def build_inputs(build) -> None:
    """The workers read one grader-made model; no image of any split is ever in their folder."""
    dummy_model().save(build.worker / "dummy_model.keras")
