"""The grader trains the submission's models itself, under the profile's budget, and measures
them on the hidden test split. Only models loaded in safe mode are trained here.

The starting weights are the grader's, not the submission's: a model is re-initialised as its
architecture is when built right after seeding (what an honest submission's model already
holds, since the probes build each model right after seeding), the pretrained base of the
frozen-base model gets the reference's ImageNet weights, and the model to fine-tune gets the
weights of the grader's own frozen model. Weights trained in advance and shipped with a
submission are thrown away. The linear classifier comes back as arrays and is applied here to
features no worker ever saw.
"""

from __future__ import annotations

import numpy as np

from autograder.config import Profile
from autograder.grading.linear_model import predict_positive, read_linear
from autograder.grading.measure import assign_weights, fresh_weights, same_structure
from autograder.grading.result import TrainingCurve
from autograder.training.pipeline import SplitLoader, evaluate_model, fit_model
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
    """Trains one submission's models with the grader's data, seed, epochs and starting weights.

    Args:
        profile: the budget.
        load: the grader's split loader.
        hidden_labels: labels of the hidden split, in the order of `linear_features["test"]`.
        linear_features: the grader-only validation and hidden features the exported linear
            classifier is applied to (the reference base's; the runner replaces them with the
            student's own base's when that differs).
        reference_base: returns the reference's pretrained base (ImageNet weights).
        frozen_weights: returns the weights of the grader's frozen model that part 4 fine-tunes.
    """

    def __init__(
        self,
        profile: Profile,
        load: SplitLoader,
        hidden_labels: np.ndarray,
        linear_features: dict | None = None,
        reference_base=None,
        frozen_weights=None,
    ) -> None:
        self.profile = profile
        self.load = load
        self.hidden_labels = hidden_labels
        self.linear_features = linear_features or {}
        self.reference_base = reference_base
        self.frozen_weights = frozen_weights
        self.notes: list[str] = []

    def _train(self, name: str, model, size: int, epochs: int, batch_size: int, callbacks=None) -> TrainingCurve:
        seed_everything(self.profile.seed)
        history = fit_model(model, self.load, size, epochs, batch_size, callbacks)
        return _curve(evaluate_model(name, model, self.load, size, 0.0, history))

    def _fresh(self, model) -> None:
        """Re-initialise every weight as the architecture is built after seeding."""
        assign_weights(model, fresh_weights(model, self.profile.seed))

    def scratch(self, model) -> TrainingCurve:
        budget = self.profile.scratch
        self._fresh(model)
        return self._train("scratch", model, budget.image_size, budget.epochs, budget.batch_size or self.profile.batch_size)

    def scratch_augmented(self, model) -> TrainingCurve:
        budget = self.profile.scratch
        self._fresh(model)
        return self._train(
            "scratch_augmented", model, budget.image_size, budget.epochs, budget.batch_size or self.profile.batch_size
        )

    def linear(self, linear: dict) -> TrainingCurve:
        test = np.asarray(self.linear_features.get("test", np.zeros((0, 0))))
        if test.ndim != 2 or len(test) != len(self.hidden_labels):
            raise ValueError(f"Expected the grader's hidden features for {len(self.hidden_labels)} images. Received: {test.shape}")
        exported = read_linear(linear, test.shape[1])
        predicted, probabilities = predict_positive(exported, test, positive=1)
        return TrainingCurve(
            "linear_classifier",
            float(np.mean(predicted.astype(np.int32) == self.hidden_labels)),
            {},
            [int(v) for v in self.hidden_labels],
            [round(float(v), 5) for v in probabilities],
        )

    def frozen(self, model) -> TrainingCurve:
        from autograder.probes.context import nested_base  # noqa: PLC0415  (grader code; no student code runs here)

        budget = self.profile.transfer
        self._fresh(model)
        base = nested_base(model)
        reference = self.reference_base() if self.reference_base is not None else None
        difference = same_structure(base, reference) if reference is not None else "no reference base"
        if difference is None:
            assign_weights(base, [np.asarray(w) for w in reference.get_weights()])
        else:
            self.notes.append(
                "The frozen-base model was trained from fresh weights: its base is not the reference's "
                f"pretrained base ({difference}), so the grader could not give it the ImageNet weights."
            )
        return self._train("frozen_base", model, self.profile.base.image_size, budget.epochs, self.profile.batch_size)

    def fine_tuned(self, model, callbacks) -> TrainingCurve:
        budget = self.profile.fine_tuning
        if self.frozen_weights is not None:
            weights = self.frozen_weights()
            shapes = [tuple(w.shape) for w in model.weights]
            if shapes != [tuple(w.shape) for w in weights]:
                raise ValueError(
                    "Expected compile_for_fine_tuning to return the frozen model it was given (the grader starts "
                    f"fine-tuning from that model's weights). Received: a model with {len(shapes)} weight tensors of other shapes"
                )
            assign_weights(model, weights)
        return self._train(
            "fine_tuned", model, self.profile.base.image_size, budget.epochs, self.profile.batch_size,
            early_stopping_from(callbacks),
        )
