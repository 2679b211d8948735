"""The transfer-learning lab as the engine sees it: its runs, its grader inputs, its training.

Everything here is grader code of this lab (public: `course release` copies it). It declares
the lab's training runs once (`RUNS`), trains the reference (`Reference`) and a submission's
returned models (`Grading`) for them, says what the grader prepares for the sandboxed workers
(`build_inputs`, `PART_INPUTS`) and what the probes are called with (`probe_settings`), and
fits the linear classifier again on a student's own base when it is not the reference's
(`after_part`). The engine (`autograder/`) knows none of these names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from autograder.config import Profile as CourseProfile
from autograder.config.models import Frozen
from autograder.data import DataNotFoundError
from autograder.grading.inputs import shuffled
from autograder.grading.linear_model import predict_positive, read_linear
from autograder.grading.result import TrainingCurve
from autograder.grading.training import SubmissionTrainer, early_stopping_from
from autograder.lab import Measured, Run
from autograder.lab.arguments import other_dropout, other_rate
from autograder.probes.context import nested_base
from autograder.training.pipeline import LabRunner, RunResult, accuracy, as_float, timer
from autograder.training.seeding import seed_everything

# -- the lab's settings: its section of each profile in course.yaml ---------------------------
class ScratchBudget(Frozen):
    image_size: int = Field(ge=32, le=512)
    epochs: int = Field(ge=1)
    dropout: float = Field(ge=0.0, lt=1.0)
    batch_size: int | None = Field(default=None, ge=1)  # None: the profile's batch_size


class BaseModelConfig(Frozen):
    architecture: Literal["MobileNetV2", "MobileNet"] = "MobileNetV2"
    alpha: float = Field(gt=0.0, le=1.4)
    image_size: int = Field(ge=32, le=224)


class TransferBudget(Frozen):
    epochs: int = Field(ge=1)
    learning_rate: float = Field(gt=0.0, lt=1.0)
    dropout: float = Field(ge=0.0, lt=1.0)


class FineTuneBudget(Frozen):
    epochs: int = Field(ge=1)
    fine_tune_at: int = Field(ge=0)
    learning_rate: float = Field(gt=0.0, lt=1.0)
    patience: int = Field(ge=1)


class TTAConfig(Frozen):
    resize_to: int = Field(ge=32, le=512)


class Profile(CourseProfile):
    """A profile of this lab: image sizes, epochs, the pretrained base and each part's budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scratch: ScratchBudget
    base: BaseModelConfig  # the engine resolves this base's ImageNet weights (`course.weights_file`)
    transfer: TransferBudget
    fine_tuning: FineTuneBudget
    tta: TTAConfig

    @model_validator(mode="after")
    def _tta_larger_than_crop(self) -> Profile:
        if self.tta.resize_to < self.base.image_size:
            raise ValueError(
                "Expected tta.resize_to >= base.image_size (the crops are cut from the resized "
                f"image). Received: tta.resize_to={self.tta.resize_to}, "
                f"base.image_size={self.base.image_size}"
            )
        return self


def image_sizes(profile) -> set[int]:
    """The sizes the runs load the splits at (the grader decodes them into its cache before a batch)."""
    return {profile.scratch.image_size, profile.base.image_size, profile.tta.resize_to}


# -- the runs, declared once ------------------------------------------------------------------
# Published numbers are for the same task with 2,000 training images.
RUNS = (
    Run("scratch", "Scratch convnet, no augmentation", "0.71", "Chollet, DLwP 1st ed. (30 epochs)",
        fixture="scratch_result", needs=("scratch_plain",)),
    Run("scratch_augmented", "Scratch convnet, augmentation + dropout", "0.82", "Chollet, DLwP 1st ed. (100 epochs)",
        fixture="scratch_augmented_result", needs=("scratch_augmented",)),
    Run("linear_classifier", "Frozen features + linear classifier", "0.90", "Chollet: frozen VGG16 features + dense",
        fixture="linear_result", needs=("linear",)),
    Run("frozen_base", "Frozen base + head (augmented)", "0.96 / 0.94", "Chollet VGG16 + aug / TF MobileNetV2 tutorial",
        fixture="frozen_result", needs=("transfer_model",)),
    Run("fine_tuned", "Fine-tuned top of the base", "0.97 / 0.98", "Chollet VGG16 / TF MobileNetV2 tutorial",
        fixture="fine_tuned_result", needs=("fine_tune_model", "callbacks")),
    # Ten-crop TTA is checked numerically, not by accuracy: trained for the table, not calibrated.
    Run("fine_tuned_tta", "Fine-tuned + ten-crop TTA", "-", "no published number", graded=False),
)


class Reference(LabRunner):
    """The reference's runs, sharing the base and the frozen model between them."""

    runs = RUNS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._transfer_model = None
        self._base = None

    def _scratch(self, augmented: bool) -> RunResult:
        budget = self.profile.scratch
        seed_everything(self.seed)
        size = budget.image_size
        with timer() as took:
            aug = self.lab.augmentation.build_augmentation(size, size, seed=self.seed) if augmented else None
            model = self.lab.scratch.build_scratch_cnn(
                (size, size, 3), augmentation=aug, dropout=budget.dropout if augmented else 0.0
            )
            model = self.lab.scratch.compile_scratch_cnn(model)
            history = self.fit(model, size, budget.epochs, batch_size=budget.batch_size)
        return self.evaluate("scratch_augmented" if augmented else "scratch", model, size, took[0], history)

    def scratch(self) -> RunResult:
        """The small convnet, plain."""
        return self._scratch(False)

    def scratch_augmented(self) -> RunResult:
        """The small convnet with augmentation + dropout."""
        return self._scratch(True)

    def base(self):
        """The frozen pretrained base at the profile's size (loaded once)."""
        if self._base is None:
            size = self.profile.base.image_size
            self._base = self.lab.feature_extraction.load_base(
                (size, size, 3), alpha=self.profile.base.alpha, weights=self.weights_file
            )
        return self._base

    def linear_classifier(self) -> RunResult:
        """Off-the-shelf features of the frozen base + a linear classifier."""
        seed_everything(self.seed)
        fe, size = self.lab.feature_extraction, self.profile.base.image_size
        with timer() as took:
            base = self.base()
            train = self.load("train", size)
            classifier = fe.fit_linear_classifier(fe.extract_features(base, train.images), train.labels)
        test = self.load("test", size)
        probs = classifier.predict_proba(fe.extract_features(base, test.images))[:, 1]
        return RunResult("linear_classifier", accuracy(probs, test.labels), took[0], {}, probs, test.labels)

    @property
    def transfer_model(self):
        """The frozen-base model once `frozen_base` or `train_frozen` has trained it."""
        if self._transfer_model is None:
            raise RuntimeError("Expected the frozen-base model to be trained first. Received: none")
        return self._transfer_model

    def train_frozen(self) -> dict[str, list[float]]:
        """Build, compile and train the frozen-base model without evaluating it."""
        seed_everything(self.seed)
        fe, size, budget = self.lab.feature_extraction, self.profile.base.image_size, self.profile.transfer
        aug = self.lab.augmentation.build_augmentation(size, size, seed=self.seed)
        model = fe.build_transfer_model(self.base(), augmentation=aug, dropout=budget.dropout)
        model = fe.compile_transfer_model(model, learning_rate=budget.learning_rate)
        history = self.fit(model, size, budget.epochs)
        self._transfer_model = model
        return history

    def frozen_base(self) -> RunResult:
        """Augmentation -> preprocess -> frozen base -> head, where only the head trains."""
        with timer() as took:
            history = self.train_frozen()
        return self.evaluate("frozen_base", self._transfer_model, self.profile.base.image_size, took[0], history)

    def fine_tuned(self) -> RunResult:
        """Unfreeze the top of the base, recompile with a low rate, train with early stopping."""
        if self._transfer_model is None:
            self.frozen_base()
        seed_everything(self.seed)
        ft, size, budget = self.lab.fine_tuning, self.profile.base.image_size, self.profile.fine_tuning
        model = self._transfer_model
        with timer() as took:
            ft.unfreeze_top(self.base(), budget.fine_tune_at)
            model = ft.compile_for_fine_tuning(model, learning_rate=budget.learning_rate)
            history = self.fit(model, size, budget.epochs, callbacks=ft.fine_tuning_callbacks(patience=budget.patience))
        return self.evaluate("fine_tuned", model, size, took[0], history)

    def fine_tuned_tta(self) -> RunResult:
        """The fine-tuned model's accuracy with ten-crop test-time augmentation."""
        if self._transfer_model is None:
            raise RuntimeError("Expected fine_tuned() to run before fine_tuned_tta(). Received: no trained model")
        crop = self.profile.base.image_size
        test = self.load("test", self.profile.tta.resize_to)
        with timer() as took:
            probs = self.lab.augmentation.predict_with_tta(self._transfer_model, as_float(test), crop)
        return RunResult("fine_tuned_tta", accuracy(probs, test.labels), took[0], {}, np.asarray(probs), test.labels)


class Grading(SubmissionTrainer):
    """Trains a submission's returned models for the runs that have a fixture.

    The pretrained base of the frozen-base model gets the reference's ImageNet weights, and the
    model to fine-tune gets the weights of the grader's own frozen model. The linear classifier
    comes back as arrays and is applied here to features no worker ever saw.
    """

    # The grader-only validation and hidden features the exported linear classifier is applied
    # to: the reference base's, or the student's own base's (`after_part` replaces them).
    linear_features: dict | None = None

    def scratch(self, model) -> TrainingCurve:
        budget = self.profile.scratch
        self.fresh(model)
        return self.train("scratch", model, budget.image_size, budget.epochs, budget.batch_size)

    def scratch_augmented(self, model) -> TrainingCurve:
        budget = self.profile.scratch
        self.fresh(model)
        return self.train("scratch_augmented", model, budget.image_size, budget.epochs, budget.batch_size)

    def linear_classifier(self, linear: dict) -> TrainingCurve:
        labels = self.hidden_arrays("labels.npz")["test"]
        features = self.linear_features if self.linear_features is not None else self.hidden_arrays("linear_eval.npz")
        test = np.asarray(features.get("test", np.zeros((0, 0))))
        if test.ndim != 2 or len(test) != len(labels):
            raise ValueError(f"Expected the grader's hidden features for {len(labels)} images. Received: {test.shape}")
        exported = read_linear(linear, test.shape[1])
        predicted, probabilities = predict_positive(exported, test, positive=1)
        return TrainingCurve(
            "linear_classifier",
            float(np.mean(predicted.astype(np.int32) == labels)),
            {},
            [int(v) for v in labels],
            [round(float(v), 5) for v in probabilities],
        )

    def frozen_base(self, model) -> TrainingCurve:
        from autograder.grading.measure import assign_weights, same_structure  # noqa: PLC0415

        self.fresh(model)
        base = nested_base(model)
        reference = self.reference.base
        difference = same_structure(base, reference)
        if difference is None:
            assign_weights(base, [np.asarray(w) for w in reference.get_weights()])
        else:
            self.notes.append(
                "The frozen-base model was trained from fresh weights: its base is not the reference's "
                f"pretrained base ({difference}), so the grader could not give it the ImageNet weights."
            )
        return self.train("frozen_base", model, self.profile.base.image_size, self.profile.transfer.epochs)

    def _frozen_weights(self) -> list:
        import keras  # noqa: PLC0415

        model = keras.models.load_model(self.inputs.worker / "frozen_model.keras", safe_mode=True)
        return [np.asarray(w) for w in model.get_weights()]

    def fine_tuned(self, model, callbacks) -> TrainingCurve:
        from autograder.grading.measure import assign_weights  # noqa: PLC0415

        weights = self.cached("frozen_weights", self._frozen_weights)
        shapes = [tuple(w.shape) for w in model.weights]
        if shapes != [tuple(w.shape) for w in weights]:
            raise ValueError(
                "Expected compile_for_fine_tuning to return the frozen model it was given (the grader starts "
                f"fine-tuning from that model's weights). Received: a model with {len(shapes)} weight tensors of other shapes"
            )
        assign_weights(model, weights)
        return self.train(
            "fine_tuned", model, self.profile.base.image_size, self.profile.fine_tuning.epochs,
            callbacks=early_stopping_from(callbacks),
        )


def _measure():
    from autograder.grading import measure  # noqa: PLC0415  (imports Keras)

    return measure


# Measured by the grader on a returned model (never in the student's process).
MEASURED = {
    "transfer_probe": Measured(
        "feature_extraction", "transfer_model",
        lambda out, inputs, seed: _measure().measure_returned(out, "transfer_model.keras", inputs, seed),
        "(TrainingProbe, compile description): what moved in real training steps, measured by the grader",
    ),
    "fine_tune_probe": Measured(
        "fine_tuning", "fine_tuning_model",
        lambda out, inputs, seed: _measure().measure_continued(out, "fine_tune_model.keras", inputs, seed, trained="frozen_model.keras"),
        "(TrainingProbe, compile description): what moved in real training steps, measured by the grader",
    ),
}


# -- what the probes are called with ----------------------------------------------------------
AUGMENTATION_SIZE = 64
# A graded function that takes a setting is also called with an off-profile value (`other_rate`,
# `other_dropout`), to see that it follows its argument.


def probe_settings(profile, weights_file) -> dict:
    """The values the probes need, as plain JSON."""
    scratch_other = profile.scratch.image_size if profile.scratch.image_size != 150 else 128
    return {
        "seed": profile.seed,
        "augmentation_size": AUGMENTATION_SIZE,
        "tta_crop": profile.base.image_size,
        "tta_resize_to": profile.tta.resize_to,
        "scratch_size": profile.scratch.image_size,
        "scratch_other_size": scratch_other,
        "scratch_dropout": profile.scratch.dropout,
        "scratch_dropout_other": other_dropout(profile.scratch.dropout),
        "base_size": profile.base.image_size,
        "architecture": profile.base.architecture,
        "alpha": profile.base.alpha,
        "weights_file": str(weights_file) if weights_file is not None else None,  # None: random bases (the public snapshot)
        "transfer_dropout": profile.transfer.dropout,
        "transfer_dropout_other": other_dropout(profile.transfer.dropout),
        "transfer_lr": profile.transfer.learning_rate,
        "transfer_lr_other": other_rate(profile.transfer.learning_rate),
        "fine_tune_at": profile.fine_tuning.fine_tune_at,
        "fine_tune_at_other": profile.fine_tuning.fine_tune_at + 12,
        "fine_tune_lr": profile.fine_tuning.learning_rate,
        "fine_tune_lr_other": other_rate(profile.fine_tuning.learning_rate),
        "patience": profile.fine_tuning.patience,
    }


# -- what the grader prepares for the workers -------------------------------------------------
PROBE_IMAGES = 16
TTA_IMAGES = 4
PUBLIC_TTA_IMAGES = 2
# The feature probe's images: validation images plus noise of this amplitude (pixel values 0-255).
FEATURE_PROBE_NOISE = 12.0

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


def feature_probe_images(images: np.ndarray) -> np.ndarray:
    """`images` plus noise from the OS's randomness: features no worker can look up in advance."""
    rng = np.random.default_rng(int.from_bytes(os.urandom(16), "little"))
    noise = rng.uniform(-FEATURE_PROBE_NOISE, FEATURE_PROBE_NOISE, images.shape)
    return np.clip(images.astype("float32") + noise, 0, 255).astype("float32")


def public_augmentation(seed: int, side: int):
    """A fixed augmentation block for `side` px images, passed where the lab takes `augmentation=`."""
    import keras  # noqa: PLC0415

    block = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=seed)], name="public_augmentation")
    block.build((None, side, side, 3))
    return block


def public_frozen_model(settings: dict):
    """A frozen-base transfer model assembled by grader code (randomly initialised, compiled).

    What `unfreeze_top` and `compile_for_fine_tuning` are called on in the public checks: the
    same base, in the same place, as the lab's transfer model.
    """
    import keras  # noqa: PLC0415

    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    keras.utils.set_random_seed(int(settings["seed"]))
    size = settings["base_size"]
    base = reference_base({**settings, "weights_file": None})  # frozen; weights do not matter here
    images = keras.Input((size, size, 3))
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(images)
    pooled = keras.layers.GlobalAveragePooling2D()(base(scaled, training=False))
    dropped = keras.layers.Dropout(settings["transfer_dropout"])(pooled)
    model = keras.Model(images, keras.layers.Dense(1, activation="sigmoid")(dropped), name="public_frozen_model")
    model.compile(optimizer=keras.optimizers.Adam(settings["transfer_lr"]), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def build_inputs(build) -> None:
    """Write the grader's inputs of a profile into `build.worker` (workers) and `build.hidden` (grader only).

    The worker folder holds only what student code may read: a few training images, the
    reference features of the *training* split with their labels (rows in a seeded random
    order), images for the feature probe that appear in no array a worker can read (validation
    images with noise drawn from the operating system's randomness when the cache is built, so
    no table of features made in advance can answer them), the reference augmentation blocks
    and a frozen model to fine-tune. Nothing of the hidden split is ever in it: the validation
    and hidden features live in `hidden/`, and the grader applies the student's exported linear
    classifier to them itself. Public inputs (`course check`) are the same files made from
    synthetic images, with no solution and no dataset.
    """
    if build.public:
        _build_public(build)
        return
    profile, worker, hidden, load = build.profile, build.worker, build.hidden, build.load
    from autograder.bases import populate_keras_home  # noqa: PLC0415

    dummy_model().save(worker / "dummy_model.keras")
    size, crop = profile.base.image_size, profile.base.image_size
    seed_everything(profile.seed)
    populate_keras_home(worker / "keras", profile.base.architecture, profile.base.alpha, build.weights_file)
    train = load("train", size)
    pick = np.random.default_rng(profile.seed).permutation(len(train))[:PROBE_IMAGES]
    np.savez(worker / "probe_images.npz", images=train.images[pick].astype("float32"), labels=train.labels[pick])
    validation = load("validation", size)
    np.savez(worker / "feature_probe.npz", images=feature_probe_images(validation.images[:PROBE_IMAGES]))
    validation_large = load("validation", profile.tta.resize_to)
    np.savez(worker / "tta.npz", images=validation_large.images[:TTA_IMAGES].astype("float32"))
    tta_model(crop).save(worker / "tta_model.keras")
    lab = build.reference_modules()
    for name, side in (("augmentation_scratch.keras", profile.scratch.image_size), ("augmentation_base.keras", size)):
        lab.augmentation.build_augmentation(side, side, seed=profile.seed).save(worker / name)
    runner = build.reference_runner()
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


def _build_public(build) -> None:
    from autograder.grading.public import coordinate_images  # noqa: PLC0415

    from autograder.bases import populate_keras_home  # noqa: PLC0415

    settings, worker, hidden, profile = build.settings, build.worker, build.hidden, build.profile
    seed = int(settings["seed"])
    rng = np.random.default_rng(seed)
    dummy_model().save(worker / "dummy_model.keras")
    if build.weights_file is not None:  # none when `course release` makes the public snapshot
        populate_keras_home(worker / "keras", profile.base.architecture, profile.base.alpha, build.weights_file)
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


# -- after a part's worker: the linear classifier on the student's own base -------------------
BASE_ATOL = 1e-6


def base_difference(student, reference) -> str | None:
    """None when `student` holds the reference's weights at its input size; else what differs."""
    from autograder.checks._layers import to_numpy  # noqa: PLC0415

    if tuple(student.input_shape) != tuple(reference.input_shape):
        return f"input shape {tuple(student.input_shape)}, the reference's is {tuple(reference.input_shape)}"
    got, want = student.weights, reference.weights
    if len(got) != len(want):
        return f"{len(got)} weight tensors, the reference's base has {len(want)}"
    for a, b in zip(got, want):
        if tuple(a.shape) != tuple(b.shape):
            return f"weight `{a.path}` has shape {tuple(a.shape)}, the reference's {tuple(b.shape)}"
    for a, b in zip(got, want):
        if not np.allclose(to_numpy(a), to_numpy(b), atol=BASE_ATOL):
            return f"weight `{a.path}` differs from the reference's ImageNet weights"
    return None


def features_of(base, extract_features, load, default_size: int) -> dict[str, np.ndarray]:
    """`linear.npz`'s arrays for `base`: train, labels, validation and hidden-test features.

    `extract_features` is the reference's (trusted) function; the images are the grader's, at
    the base's own input size when it has one.
    """
    size = base.input_shape[1] if isinstance(base.input_shape[1], int) else default_size
    train, validation, test = (load(split, size) for split in ("train", "validation", "test"))
    return {
        "train": np.asarray(extract_features(base, train.images), "float32"),
        "labels": train.labels,
        "validation": np.asarray(extract_features(base, validation.images), "float32"),
        "test": np.asarray(extract_features(base, test.images), "float32"),
    }


def write_linear_inputs(folder: Path, arrays: dict[str, np.ndarray], seed: int) -> Path:
    """A folder the sandboxed worker may read, holding only the training features and labels.

    Rows are in a seeded random order; the validation and hidden features stay with the grader.
    """
    folder.mkdir(parents=True, exist_ok=True)
    train, labels = shuffled(seed, arrays["train"], arrays["labels"])
    np.savez(folder / "linear.npz", train=train, labels=labels)
    folder.chmod(0o755)
    (folder / "linear.npz").chmod(0o644)
    return folder


def after_part(part: str, hook) -> str | None:
    """Fit the linear classifier again on the student's own base when it is not the reference's.

    The reference base's features of the training, validation and hidden splits are computed
    once per profile (with the grading inputs) and shared by every submission whose `load_base`
    returns the same base: the same weight tensors with the same values. Any other base
    (another alpha or input size, `weights=None`, another architecture) gets features of its
    own, computed in the grader process with the student's base (a `.keras` loaded in safe
    mode: data, not code) and the reference's preprocessing and pooling; the student's
    `fit_linear_classifier` is then run again, in the sandbox, on those features. A base that
    was not built at all (load_base failed) costs the load_base checks; the linear classifier
    is then fitted on the reference's features so that one mistake is not scored twice.

    Runs before any check reads `linear`. Returns a note for the student, or None when the
    shared reference features were right (the same base) or when no base was built (the
    load_base checks say why). Never raises for what the returned base is or does.
    """
    if part != "feature_extraction" or "linear_classifier" not in hook.probes or hook.public:
        return None
    student = hook.value("base")  # the same loaded model the load_base check judges
    if student is None:
        return None
    try:
        difference = base_difference(student, hook.reference.base)
    except Exception as exc:  # noqa: BLE001  (a returned object the grader cannot even compare)
        difference = f"a base the grader could not compare ({type(exc).__name__}: {str(exc)[:200]})"
    if difference is None:
        return None
    profile = hook.profile
    try:
        arrays = features_of(
            student, hook.reference_modules().feature_extraction.extract_features, hook.load, profile.base.image_size
        )
    except Exception as exc:  # noqa: BLE001  (a base the grader cannot run earns no linear accuracy)
        hook.fail_probe(
            "linear_classifier",
            f"The grader could not extract features with the base from load_base ({difference}): {type(exc).__name__}: {exc}",
        )
        return f"load_base returned a base other than the reference's ({difference}) that the grader could not run."
    folder = write_linear_inputs(hook.work / "linear-own-base", arrays, profile.seed)
    # Read from that run's own output folder, as data; the grader applies it to the own-base
    # features of the validation and hidden splits, which no worker ever sees.
    hook.rerun(("linear_classifier",), folder, artifacts=("linear",))
    hook.trainer.linear_features = {"validation": arrays["validation"], "test": arrays["test"]}
    return (
        f"load_base returned a base other than the reference's ({difference}), so fit_linear_classifier was "
        "fitted and scored on that base's features (extracted by the grader with the reference's preprocessing and pooling)."
    )
