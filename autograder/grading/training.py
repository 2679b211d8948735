"""The grader trains the submission's models itself, under the profile's budget, and measures
them on the hidden test split. Only models loaded in safe mode are trained here."""

from __future__ import annotations

import numpy as np

from autograder.config import Profile
from autograder.grading.result import TrainingCurve
from autograder.training.pipeline import SplitLoader, accuracy, evaluate_model, fit_model
from autograder.training.seeding import seed_everything


def _curve(result) -> TrainingCurve:
    return TrainingCurve(
        result.name,
        float(result.accuracy),
        result.history,
        [int(v) for v in result.labels],
        [round(float(v), 5) for v in result.probabilities],
    )


def early_stopping_from(descriptions) -> list:
    """Rebuild the student's EarlyStopping from its description (nothing else is trusted)."""
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
    """Trains one submission's models with the grader's data, seed and epochs."""

    def __init__(self, profile: Profile, load: SplitLoader, hidden_labels: np.ndarray) -> None:
        self.profile = profile
        self.load = load
        self.hidden_labels = hidden_labels

    def _train(self, name: str, model, size: int, epochs: int, batch_size: int, callbacks=None) -> TrainingCurve:
        seed_everything(self.profile.seed)
        history = fit_model(model, self.load, size, epochs, batch_size, callbacks)
        return _curve(evaluate_model(name, model, self.load, size, 0.0, history))

    def scratch(self, model) -> TrainingCurve:
        budget = self.profile.scratch
        return self._train("scratch", model, budget.image_size, budget.epochs, budget.batch_size or self.profile.batch_size)

    def scratch_augmented(self, model) -> TrainingCurve:
        budget = self.profile.scratch
        return self._train(
            "scratch_augmented", model, budget.image_size, budget.epochs, budget.batch_size or self.profile.batch_size
        )

    def linear(self, linear: dict) -> TrainingCurve:
        probabilities = np.asarray(linear["test"], dtype="float64")
        if probabilities.ndim == 2:
            probabilities = probabilities[:, -1]
        if probabilities.shape != self.hidden_labels.shape:
            raise ValueError(
                f"Expected predict_proba to give one row per image ({len(self.hidden_labels)}). "
                f"Received: shape={probabilities.shape}"
            )
        return TrainingCurve(
            "linear_classifier",
            accuracy(probabilities, self.hidden_labels),
            {},
            [int(v) for v in self.hidden_labels],
            [round(float(v), 5) for v in probabilities],
        )

    def frozen(self, model) -> TrainingCurve:
        budget = self.profile.transfer
        return self._train("frozen_base", model, self.profile.base.image_size, budget.epochs, self.profile.batch_size)

    def fine_tuned(self, model, callbacks) -> TrainingCurve:
        budget = self.profile.fine_tuning
        return self._train(
            "fine_tuned", model, self.profile.base.image_size, budget.epochs, self.profile.batch_size,
            early_stopping_from(callbacks),
        )
