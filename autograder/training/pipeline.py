"""Train and evaluate every part of the lab under a profile's budget.

The runner is given the lab's functions (the reference solution, or later a proxy to a
sandboxed submission) and the grader's own data; it owns seeds, epochs, batch sizes and the
hidden test split, so results depend on the submission's code and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.config import Profile
from autograder.data import ImageSet
from autograder.training.lab_modules import LabModules
from autograder.training.seeding import seed_everything

# Loads one split ("train", "validation" or "test") at a given image size.
SplitLoader = Callable[[str, int], ImageSet]

RUN_NAMES = ("scratch", "scratch_augmented", "linear_classifier", "frozen_base", "fine_tuned", "fine_tuned_tta")


@dataclass
class RunResult:
    """One trained variant: its accuracy on the hidden test split, the time it took, its curves."""

    name: str
    accuracy: float
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)
    probabilities: np.ndarray | None = None
    labels: np.ndarray | None = None


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose P(dog) >= 0.5 agrees with the label (1 = dog)."""
    probabilities = np.asarray(probabilities).reshape(-1)
    return float(np.mean((probabilities >= 0.5).astype(np.int32) == np.asarray(labels).reshape(-1)))


def as_float(images: ImageSet) -> np.ndarray:
    return images.images.astype("float32")


@contextmanager
def _timer() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


def fit_model(
    model, load: SplitLoader, size: int, epochs: int, batch_size: int, callbacks=None, verbose: int = 0
) -> dict[str, list[float]]:
    """Train on the profile's training split with its validation split; return the history."""
    train, val = load("train", size), load("validation", size)
    history = model.fit(
        as_float(train),
        train.labels.astype("float32"),
        validation_data=(as_float(val), val.labels.astype("float32")),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks or [],
        shuffle=True,
        verbose=verbose,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def evaluate_model(name: str, model, load: SplitLoader, size: int, seconds: float = 0.0, history=None) -> RunResult:
    """Accuracy of `model` on the hidden test split at `size`."""
    test = load("test", size)
    probs = np.asarray(model.predict(as_float(test), batch_size=64, verbose=0)).reshape(-1)
    return RunResult(name, accuracy(probs, test.labels), seconds, history or {}, probs, test.labels)


class LabRunner:
    """Runs the lab's parts in order, sharing the base and the frozen model between them."""

    def __init__(
        self,
        lab: LabModules,
        profile: Profile,
        load: SplitLoader,
        weights_file: Path | str,
        verbose: int = 0,
        seed: int | None = None,
    ) -> None:
        self.lab = lab
        self.profile = profile
        self.seed = profile.seed if seed is None else seed  # training seed; data subsets use profile.seed
        self.load = load
        self.weights_file = str(weights_file)
        self.verbose = verbose
        self._transfer_model = None
        self._base = None

    # -- helpers ---------------------------------------------------------------------------
    def _fit(self, model, size: int, epochs: int, callbacks=None, batch_size=None) -> dict[str, list[float]]:
        return fit_model(model, self.load, size, epochs, batch_size or self.profile.batch_size, callbacks, self.verbose)

    def _evaluate(self, name: str, model, size: int, seconds: float, history) -> RunResult:
        return evaluate_model(name, model, self.load, size, seconds, history)

    # -- parts ------------------------------------------------------------------------------
    def scratch(self, augmented: bool) -> RunResult:
        """The small convnet, plain or with augmentation + dropout."""
        budget = self.profile.scratch
        seed_everything(self.seed)
        size = budget.image_size
        with _timer() as took:
            aug = self.lab.augmentation.build_augmentation(size, size, seed=self.seed) if augmented else None
            model = self.lab.scratch.build_scratch_cnn(
                (size, size, 3), augmentation=aug, dropout=budget.dropout if augmented else 0.0
            )
            model = self.lab.scratch.compile_scratch_cnn(model)
            history = self._fit(model, size, budget.epochs, batch_size=budget.batch_size)
        name = "scratch_augmented" if augmented else "scratch"
        return self._evaluate(name, model, size, took[0], history)

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
        with _timer() as took:
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
        history = self._fit(model, size, budget.epochs)
        self._transfer_model = model
        return history

    def frozen_base(self) -> RunResult:
        """Augmentation -> preprocess -> frozen base -> head, where only the head trains."""
        with _timer() as took:
            history = self.train_frozen()
        return self._evaluate("frozen_base", self._transfer_model, self.profile.base.image_size, took[0], history)

    def fine_tuned(self) -> RunResult:
        """Unfreeze the top of the base, recompile with a low rate, train with early stopping."""
        if self._transfer_model is None:
            self.frozen_base()
        seed_everything(self.seed)
        ft, size, budget = self.lab.fine_tuning, self.profile.base.image_size, self.profile.fine_tuning
        model = self._transfer_model
        with _timer() as took:
            ft.unfreeze_top(self.base(), budget.fine_tune_at)
            model = ft.compile_for_fine_tuning(model, learning_rate=budget.learning_rate)
            history = self._fit(
                model, size, budget.epochs, callbacks=ft.fine_tuning_callbacks(patience=budget.patience)
            )
        return self._evaluate("fine_tuned", model, size, took[0], history)

    def tta(self) -> RunResult:
        """The fine-tuned model's accuracy with ten-crop test-time augmentation."""
        if self._transfer_model is None:
            raise RuntimeError("Expected fine_tuned() to run before tta(). Received: no trained model")
        crop = self.profile.base.image_size
        test = self.load("test", self.profile.tta.resize_to)
        with _timer() as took:
            probs = self.lab.augmentation.predict_with_tta(self._transfer_model, as_float(test), crop)
        return RunResult("fine_tuned_tta", accuracy(probs, test.labels), took[0], {}, np.asarray(probs), test.labels)

    def run_all(self, only: tuple[str, ...] = RUN_NAMES, progress: Callable[[str], None] | None = None):
        """Run the requested variants in dependency order; yield each `RunResult` as it finishes."""
        steps = {
            "scratch": lambda: self.scratch(False),
            "scratch_augmented": lambda: self.scratch(True),
            "linear_classifier": self.linear_classifier,
            "frozen_base": self.frozen_base,
            "fine_tuned": self.fine_tuned,
            "fine_tuned_tta": self.tta,
        }
        unknown = [name for name in only if name not in steps]
        if unknown:
            raise ValueError(f"Expected run names from {RUN_NAMES}. Received: {unknown}")
        for name in RUN_NAMES:
            if name in only:
                if progress:
                    progress(name)
                yield steps[name]()
