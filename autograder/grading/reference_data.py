"""What the reference solution produces on the grader's inputs: the expected side of each check.

Built in the grader process from the trusted reference modules, lazily, once per process (a
batch of submissions shares it).
"""

from __future__ import annotations

from functools import cached_property

import keras
import numpy as np

from autograder.checks.callbacks import describe_callbacks
from autograder.checks.tta import predictions_per_crop
from autograder.grading.inputs import GradingInputs
from autograder.probes.parts import nested_base
from autograder.training.lab_modules import LabModules


class ReferenceData:
    """The reference's models, arrays and descriptions for one profile's inputs."""

    def __init__(self, lab: LabModules, inputs: GradingInputs) -> None:
        self.lab = lab
        self.inputs = inputs
        self.settings = inputs.settings

    def _load(self, name: str):
        return keras.models.load_model(self.inputs.worker / name, safe_mode=True)

    def _array(self, name: str, key: str) -> np.ndarray:
        with np.load(self.inputs.worker / name, allow_pickle=False) as data:
            return data[key]

    # -- part 1 -------------------------------------------------------------------------------
    @cached_property
    def ten_crops(self) -> np.ndarray:
        return self.lab.augmentation.ten_crops(self._array("tta.npz", "images"), self.settings["tta_crop"])

    @cached_property
    def tta_per_crop(self) -> np.ndarray:
        model = self._load("tta_model.keras")
        return predictions_per_crop(lambda x: model.predict(x, verbose=0), self.ten_crops)

    # -- part 2 -------------------------------------------------------------------------------
    def _scratch(self, size: int, augmented: bool = False):
        scratch = self.lab.scratch
        if augmented:
            model = scratch.build_scratch_cnn(
                (size, size, 3), augmentation=self._load("augmentation_scratch.keras"), dropout=self.settings["scratch_dropout"]
            )
        else:
            model = scratch.build_scratch_cnn((size, size, 3))
        return scratch.compile_scratch_cnn(model)

    @cached_property
    def scratch_150(self):
        return self._scratch(150)

    @cached_property
    def scratch_other(self):
        return self._scratch(self.settings["scratch_other_size"])

    @cached_property
    def scratch_plain(self):
        return self._scratch(self.settings["scratch_size"])

    @cached_property
    def scratch_augmented(self):
        return self._scratch(self.settings["scratch_size"], augmented=True)

    # -- part 3 -------------------------------------------------------------------------------
    @cached_property
    def base(self):
        size = self.settings["base_size"]
        return self.lab.feature_extraction.load_base(
            (size, size, 3), alpha=self.settings["alpha"], weights=self.settings["weights_file"]
        )

    @cached_property
    def features(self) -> np.ndarray:
        return self.lab.feature_extraction.extract_features(self.base, self._array("feature_probe.npz", "images"))

    @cached_property
    def transfer_model(self):
        fe = self.lab.feature_extraction
        model = fe.build_transfer_model(
            self.base, augmentation=self._load("augmentation_base.keras"), dropout=self.settings["transfer_dropout"]
        )
        return fe.compile_transfer_model(model, learning_rate=self.settings["transfer_lr"])

    # -- part 4 -------------------------------------------------------------------------------
    def _unfrozen(self, at: int):
        model = self._load("frozen_model.keras")
        base = nested_base(model)
        self.lab.fine_tuning.unfreeze_top(base, at)
        return model, base

    @cached_property
    def fine_tune_model(self):
        model, _ = self._unfrozen(self.settings["fine_tune_at"])
        return self.lab.fine_tuning.compile_for_fine_tuning(model, learning_rate=self.settings["fine_tune_lr"])

    @cached_property
    def unfreeze_other(self) -> list[dict]:
        _, base = self._unfrozen(self.settings["fine_tune_at_other"])
        return [{"name": layer.name, "class": type(layer).__name__, "trainable": bool(layer.trainable)} for layer in base.layers]

    @cached_property
    def callbacks(self) -> list[dict]:
        return describe_callbacks(self.lab.fine_tuning.fine_tuning_callbacks(patience=self.settings["patience"]))
