"""Named data that lab checks ask for by parameter name, resolved lazily by the grader.

A check such as `def test_x(scratch_150, reference)` gets the submission's model (built in the
sandbox, loaded here in safe mode) and the reference's. When the probe behind a name failed,
the check is not called: it fails with the probe's error (e.g. the NotImplementedError of a
stub), so every check says which function let it down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from autograder.grading.linear_model import LinearExportError
from autograder.grading.measure import measure_fine_tuning, measure_transfer
from autograder.grading.result import TrainingCurve
from autograder.grading.worker_run import PartRun
from autograder.sandbox import UntrustedArtifactError, load_keras_model, read_json, read_npz
from autograder.training.seeding import seed_everything

MAX_ARRAYS = 4096


class MissingData(Exception):
    """A check's input could not be produced; the message says which function failed and how."""


def _model(name: str) -> Callable[[Path], object]:
    return lambda out: load_keras_model(out, name)


def _array(name: str, key: str) -> Callable[[Path], np.ndarray]:
    return lambda out: read_npz(out, name, max_arrays=MAX_ARRAYS)[key]


def _linear(out: Path) -> dict:
    return read_npz(out, "linear.npz")  # the exported classifier's arrays; validated when applied


# name -> (part, probe, loader of the probe's output folder)
ARTIFACTS: dict[str, tuple[str, str, Callable[[Path], object]]] = {
    "augmentation_block": ("augmentation", "augmentation_block", _model("augmentation.keras")),
    "ten_crops": ("augmentation", "ten_crops", _array("ten_crops.npz", "crops")),
    "tta_predictions": ("augmentation", "predict_with_tta", _array("tta.npz", "probabilities")),
    "scratch_150": ("scratch", "scratch_models", _model("scratch_150.keras")),
    "scratch_other": ("scratch", "scratch_models", _model("scratch_other.keras")),
    "scratch_plain": ("scratch", "scratch_compiled", _model("scratch_plain.keras")),
    "scratch_augmented": ("scratch", "scratch_compiled", _model("scratch_augmented.keras")),
    "scratch_compile": ("scratch", "scratch_compile", _model("scratch_compile.keras")),
    "transfer_compile": ("feature_extraction", "transfer_compile", _model("transfer_compile.keras")),
    "fine_tuning_compile": ("fine_tuning", "fine_tuning_compile", _model("fine_tuning_compile.keras")),
    "base": ("feature_extraction", "base_model", _model("base.keras")),
    "features": ("feature_extraction", "features", _array("features.npz", "features")),
    "linear": ("feature_extraction", "linear_classifier", _linear),
    "transfer_uncompiled": ("feature_extraction", "transfer_model", _model("transfer_uncompiled.keras")),
    "transfer_model": ("feature_extraction", "transfer_model", _model("transfer_model.keras")),
    "fine_tune_model": ("fine_tuning", "fine_tuning_model", _model("fine_tune_model.keras")),
    "unfreeze_other": ("fine_tuning", "unfreeze_elsewhere", lambda out: read_json(out, "unfreeze_other.json")),
    "callbacks": ("fine_tuning", "callbacks", lambda out: read_json(out, "callbacks.json")),
}

# Measured by the grader on a returned model (never in the student's process):
# name -> (part, probe, measure(out folder, file name, grader inputs folder, seed)), see `measure.py`.
MEASURED = {
    "transfer_probe": ("feature_extraction", "transfer_model", lambda out, w, seed: measure_transfer(out, "transfer_model.keras", w, seed)),
    "fine_tune_probe": ("fine_tuning", "fine_tuning_model", lambda out, w, seed: measure_fine_tuning(out, "fine_tune_model.keras", w, seed)),
}

# Trained results: name -> (method of the trainer, the artifacts it needs)
TRAINED = {
    "scratch_result": ("scratch", ("scratch_plain",)),
    "scratch_augmented_result": ("scratch_augmented", ("scratch_augmented",)),
    "linear_result": ("linear", ("linear",)),
    "frozen_result": ("frozen", ("transfer_model",)),
    "fine_tuned_result": ("fine_tuned", ("fine_tune_model", "callbacks")),
}


def needed_probes(checks) -> dict[str, tuple[str, ...]]:
    """part -> the probes whose artifacts `checks` ask for (directly or to train), in run order."""
    from autograder.probes.parts import PROBES  # noqa: PLC0415

    wanted: set[str] = set()

    def add(name: str) -> None:
        if name in ARTIFACTS:
            wanted.add(ARTIFACTS[name][1])
        elif name in MEASURED:
            wanted.add(MEASURED[name][1])
        elif name in TRAINED:
            for need in TRAINED[name][1]:
                add(need)

    for check in checks:
        for name in check.parameters:
            add(name)
    return {part: tuple(p.__name__ for p in probes if p.__name__ in wanted) for part, probes in PROBES.items()}


class SubmissionData:
    """Resolves fixture names for one submission, caching each value (or its failure)."""

    def __init__(self, runs: Mapping[str, PartRun], shared: dict[str, object], trainer) -> None:
        self.runs = runs
        self.shared = shared
        self.trainer = trainer
        self._values: dict[str, object] = {}
        self._errors: dict[str, str] = {}
        self.curves: list[TrainingCurve] = []
        # artifact name -> the run to read it from instead of its part's (e.g. the linear
        # classifier fitted again on the student's own base's features)
        self.artifact_runs: dict[str, PartRun] = {}

    def get(self, name: str):
        if name in self._values:
            return self._values[name]
        if name in self._errors:
            raise MissingData(self._errors[name])
        try:
            value = self._resolve(name)
        except MissingData as exc:
            self._errors[name] = str(exc)
            raise
        self._values[name] = value
        return value

    def _resolve(self, name: str):
        if name in self.shared:
            return self.shared[name]
        if name in ARTIFACTS or name in MEASURED:
            part, probe, loader = ARTIFACTS[name] if name in ARTIFACTS else MEASURED[name]
            run = self.artifact_runs.get(name) or self.runs.get(part)
            if run is None:
                raise MissingData(f"The {part} part was not run")
            error = run.error_for(probe)
            if error is not None:
                raise MissingData(_short(error))
            try:
                # Layers built without a seed (Dropout, random augmentation) draw one when the model
                # is loaded: seed first, so a model trains the same however many ran before it.
                seed_everything(self.trainer.profile.seed)
                if name in MEASURED:
                    return loader(run.out, self.shared["grader_inputs"], self.trainer.profile.seed)
                return loader(run.out)
            except Exception as exc:  # noqa: BLE001  (whatever a returned object does, it is that check's failure)
                reason = str(exc) if isinstance(exc, (UntrustedArtifactError, LinearExportError)) else f"{type(exc).__name__}: {exc}"
                raise MissingData(f"`{probe}` returned something the grader cannot use: {reason}") from None
        if name in TRAINED:
            method, needs = TRAINED[name]
            values = [self.get(need) for need in needs]
            start = time.perf_counter()
            try:
                curve = getattr(self.trainer, method)(*values)
            except Exception as exc:  # noqa: BLE001  (a model that cannot train earns no accuracy)
                raise MissingData(f"Training failed: {type(exc).__name__}: {exc}") from None
            curve.history.setdefault("seconds", [round(time.perf_counter() - start, 1)])
            self.curves.append(curve)
            return curve
        raise MissingData(f"No data named {name!r} (a mistake in the check, not in the submission)")


def _short(error: str, limit: int = 1200) -> str:
    """The exception line first (it names the failing call), then the end of the traceback."""
    lines = [line for line in error.strip().splitlines() if line.strip() and set(line.strip()) != {"^"}]
    if not lines:
        return "failed"
    head, context = lines[-1], "\n".join(lines[:-1])
    if len(context) > limit:
        context = "[...]\n" + context[-limit:]
    return f"{head}\n{context}" if context else head
