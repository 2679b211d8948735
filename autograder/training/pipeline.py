"""Train and evaluate a lab's runs under a profile's budget: the engine's side.

The lab declares its runs and how each trains (`definition.py`); this module gives it the
grader's data, seeds, epochs and batch sizes, and measures every run on the hidden test split.
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

# Loads one split ("train", "validation" or "test") at a given image size.
SplitLoader = Callable[[str, int], ImageSet]

@dataclass
class RunResult:
    """One trained variant: its accuracy on the hidden test split, the time it took, its curves."""

    name: str
    accuracy: float
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)
    probabilities: np.ndarray | None = None
    labels: np.ndarray | None = None


def predicted_classes(probabilities: np.ndarray) -> np.ndarray:
    """Class indices: argmax over classes, or P(class 1) >= 0.5 for one output per image."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim == 2 and probabilities.shape[1] > 1:
        return np.argmax(probabilities, axis=1).astype(np.int32)
    return (probabilities.reshape(-1) >= 0.5).astype(np.int32)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose predicted class (see `predicted_classes`) is the label."""
    return float(np.mean(predicted_classes(probabilities) == np.asarray(labels).reshape(-1)))


def outputs(probabilities: np.ndarray) -> np.ndarray:
    """A model's predictions as kept in results: one value per image, or one row per image."""
    probabilities = np.asarray(probabilities)
    return probabilities.reshape(len(probabilities), -1).squeeze(-1) if probabilities.ndim > 1 and probabilities.shape[-1] == 1 else probabilities


def as_float(images: ImageSet) -> np.ndarray:
    return images.images.astype("float32")


@contextmanager
def timer() -> Iterator[list[float]]:
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
    probs = outputs(model.predict(as_float(test), batch_size=64, verbose=0))
    return RunResult(name, accuracy(probs, test.labels), seconds, history or {}, probs, test.labels)


class LabRunner:
    """Trains a lab's runs in order under a profile's budget; a lab subclasses it in its definition.

    The subclass (`Reference` in the lab's `definition.py`) has one method per run name, each
    returning a `RunResult`, and may share state between them (a base loaded once, a model
    trained by one run and continued by the next).
    """

    runs: tuple = ()  # the lab's `Run`s, set by the engine from the definition

    def __init__(
        self,
        lab: LabModules,
        profile: Profile,
        load: SplitLoader,
        weights_file: Path | str | None,
        verbose: int = 0,
        seed: int | None = None,
    ) -> None:
        self.lab = lab
        self.profile = profile
        self.seed = profile.seed if seed is None else seed  # training seed; data subsets use profile.seed
        self.load = load
        self.weights_file = str(weights_file) if weights_file is not None else None
        self.verbose = verbose

    def fit(self, model, size: int, epochs: int, callbacks=None, batch_size=None) -> dict[str, list[float]]:
        """Train on the profile's training split with its validation split; return the history."""
        return fit_model(model, self.load, size, epochs, batch_size or self.profile.batch_size, callbacks, self.verbose)

    def evaluate(self, name: str, model, size: int, seconds: float, history) -> RunResult:
        """The accuracy of `model` on the hidden test split at `size`."""
        return evaluate_model(name, model, self.load, size, seconds, history)

    def run_all(self, only: tuple[str, ...] | None = None, progress: Callable[[str], None] | None = None):
        """Run the requested runs (default: all) in the lab's order; yield each `RunResult` as it finishes."""
        names = tuple(run.name for run in self.runs)
        only = names if only is None else tuple(only)
        unknown = [name for name in only if name not in names]
        if unknown:
            raise ValueError(f"Expected run names from {names}. Received: {unknown}")
        for name in names:
            if name in only:
                if progress:
                    progress(name)
                yield getattr(self, name)()
