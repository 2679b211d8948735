"""The grader trains the submission's models itself, under the profile's budget, and measures
them on the hidden test split. Only models loaded in safe mode are trained here.

A lab's `Grading` class (its `definition.py`) subclasses `SubmissionTrainer` with one method
per graded run. The starting weights are the grader's, not the submission's: `fresh()`
re-initialises a model as its architecture is when built right after seeding (what an honest
submission's model already holds, since the probes build each model right after seeding), so
weights trained in advance and shipped with a submission are thrown away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.config import Profile
from autograder.grading.result import TrainingCurve
from autograder.training.pipeline import RunResult, SplitLoader, evaluate_model, fit_model
from autograder.training.seeding import seed_everything


def curve_of(result: RunResult) -> TrainingCurve:
    """A trained run as the grade records it (accuracy, history, hidden labels and predictions)."""
    return TrainingCurve(
        result.name, float(result.accuracy), result.history, [int(v) for v in result.labels], rounded(result.probabilities)
    )


def rounded(probabilities) -> list:
    """Predictions to 5 decimals: one per image, or one row per image."""
    values = np.asarray(probabilities)
    if values.ndim > 1:
        return [[round(float(v), 5) for v in row] for row in values]
    return [round(float(v), 5) for v in values]


def early_stopping_from(descriptions) -> list:
    """Rebuild a student's EarlyStopping from its description (nothing else is trusted)."""
    import keras  # noqa: PLC0415

    callbacks = []
    for item in descriptions if isinstance(descriptions, list) else []:
        if isinstance(item, dict) and item.get("class_name") == "EarlyStopping":
            patience = item.get("patience")
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=str(item.get("monitor", "val_loss")),
                    patience=int(patience) if isinstance(patience, (int, float)) else 0,
                    restore_best_weights=bool(item.get("restore_best_weights", False)),
                    mode=str(item.get("mode", "auto")) if item.get("mode") in ("auto", "min", "max") else "auto",
                )
            )
    return callbacks


class SubmissionTrainer:
    """Trains one submission's models with the grader's data, seed, epochs and starting weights.

    Args:
        profile: the budget.
        load: the grader's split loader.
        inputs: the grader's inputs of the profile (`inputs.hidden` holds grader-only arrays).
        reference: the reference's side of the checks (`ReferenceOutputs`).
        cache: values shared by every submission of a batch (e.g. weights loaded once).
    """

    def __init__(self, profile: Profile, load: SplitLoader, inputs, reference, cache: dict | None = None) -> None:
        self.profile = profile
        self.load = load
        self.inputs = inputs
        self.reference = reference
        self.cache = cache if cache is not None else {}
        self.notes: list[str] = []

    def train(self, name: str, model, size: int, epochs: int, batch_size: int | None = None, callbacks=None) -> TrainingCurve:
        """Seed, fit on the grader's training split, and measure on the hidden split."""
        seed_everything(self.profile.seed)
        history = fit_model(model, self.load, size, epochs, batch_size or self.profile.batch_size, callbacks)
        return curve_of(evaluate_model(name, model, self.load, size, 0.0, history))

    def fresh(self, model) -> None:
        """Re-initialise every weight as the architecture is built after seeding."""
        from autograder.grading.measure import assign_weights, fresh_weights  # noqa: PLC0415  (imports Keras)

        assign_weights(model, fresh_weights(model, self.profile.seed))

    def hidden_arrays(self, name: str) -> dict[str, np.ndarray]:
        """A grader-only `.npz` of the inputs' hidden folder, read once per batch ({} if absent)."""
        key = ("hidden", name)
        if key not in self.cache:
            path = Path(self.inputs.hidden) / name
            arrays: dict[str, np.ndarray] = {}
            if path.is_file():
                with np.load(path, allow_pickle=False) as data:
                    arrays = {k: data[k] for k in data.files}
            self.cache[key] = arrays
        return self.cache[key]

    def cached(self, key: str, make):
        """`make()` once per batch (e.g. the weights of a grader's model every submission starts from)."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]
