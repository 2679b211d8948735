"""Named data that lab checks ask for by parameter name, resolved lazily by the grader.

A check such as `def scratch_parameter_counts(scratch_150, reference)` gets the submission's model (built in the
sandbox, loaded here in safe mode) and the reference's. When the probe behind a name failed,
the check is not called: it fails with the probe's error (e.g. the NotImplementedError of a
stub), so every check says which function let it down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from autograder.grading.linear_model import LinearExportError
from autograder.grading.measure import measure_fine_tuning, measure_transfer
from autograder.grading.result import TrainingCurve
from autograder.grading.worker_run import PartRun
from autograder.probes.declare import ArtifactSpec, LabProbes
from autograder.sandbox import UntrustedArtifactError, load_keras_model, read_json, read_npz
from autograder.training.seeding import seed_everything

MAX_ARRAYS = 4096


class MissingData(Exception):
    """A check's input could not be produced; the message says which function failed and how."""


class Artifact(NamedTuple):
    """A fixture read from a probe's output folder: its part, probe, loader and what it gives."""

    part: str
    probe: str
    load: Callable[[Path], object]
    kind: str


def _loader(spec: ArtifactSpec) -> Callable[[Path], object]:
    """How the grader reads one declared artifact: as data, through the safe loaders."""
    if spec.kind == "model":
        return lambda out: load_keras_model(out, spec.file)
    if spec.kind == "array":
        return lambda out: read_npz(out, spec.file, max_arrays=MAX_ARRAYS)[spec.key]
    if spec.kind == "arrays":
        return lambda out: read_npz(out, spec.file, max_arrays=MAX_ARRAYS)
    return lambda out: read_json(out, spec.file)


def artifacts_of(lab: LabProbes) -> dict[str, Artifact]:
    """Every artifact name the lab's probes declare -> where the grader reads it and how."""
    return {name: Artifact(spec.part, spec.name, _loader(artifact), artifact.describe()) for name, (spec, artifact) in lab.artifacts.items()}


# Measured by the grader on a returned model (never in the student's process):
# name -> (part, probe, measure(out folder, grader inputs folder, seed)), see `measure.py`.
MEASURED = {
    "transfer_probe": ("feature_extraction", "transfer_model", lambda out, w, seed: measure_transfer(out, "transfer_model.keras", w, seed)),
    "fine_tune_probe": ("fine_tuning", "fine_tuning_model", lambda out, w, seed: measure_fine_tuning(out, "fine_tune_model.keras", w, seed)),
}
MEASURED_KIND = "(TrainingProbe, compile description): what moved in real training steps, measured by the grader"

# Trained results: name -> (method of the trainer, the artifacts it needs)
TRAINED = {
    "scratch_result": ("scratch", ("scratch_plain",)),
    "scratch_augmented_result": ("scratch_augmented", ("scratch_augmented",)),
    "linear_result": ("linear", ("linear",)),
    "frozen_result": ("frozen", ("transfer_model",)),
    "fine_tuned_result": ("fine_tuned", ("fine_tune_model", "callbacks")),
}
TRAINED_KIND = "TrainingCurve: trained by the grader on its budget, accuracy on the hidden split"

# Given by the grader to every check (the runner's `shared` values): name -> what it is.
SHARED = {
    "reference": "the reference's side of the checks (its models and values on the grader's inputs)",
    "settings": "dict: the values the probes were called with (sizes, rates, seeds, off-profile values)",
    "thresholds": "calibrated accuracy thresholds by run name (profile's calibration file)",
    "grader_inputs": "Path: the folder of inputs the workers read",
}


@dataclass(frozen=True)
class FixtureInfo:
    """One name a check may ask for: its part ('' for every part), where it comes from, its type."""

    name: str
    part: str
    source: str
    kind: str


def fixture_catalogue(lab: LabProbes) -> list[FixtureInfo]:
    """Every name a check may ask for, in the order of the tables above."""
    artifacts = artifacts_of(lab)
    out = [FixtureInfo(name, "", "the grader", kind) for name, kind in SHARED.items()]
    out += [FixtureInfo(name, a.part, f"probe {a.probe}", a.kind) for name, a in artifacts.items()]
    out += [FixtureInfo(name, part, f"measured on probe {probe}'s model", MEASURED_KIND) for name, (part, probe, _) in MEASURED.items()]
    for name, (method, needs) in TRAINED.items():
        out.append(FixtureInfo(name, artifacts[needs[0]].part, f"trained from {', '.join(needs)}", TRAINED_KIND))
    return out


def needed_probes(checks, lab: LabProbes) -> dict[str, tuple[str, ...]]:
    """part -> the probes whose artifacts `checks` ask for (directly or to train), in run order."""
    artifacts = artifacts_of(lab)
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name in artifacts:
            wanted.add(artifacts[name].probe)
        elif name in MEASURED:
            wanted.add(MEASURED[name][1])
        elif name in TRAINED:
            for need in TRAINED[name][1]:
                add(need)

    for check in checks:
        for name in check.parameters:
            add(name)
    return {part: tuple(spec.name for spec in specs if spec.name in wanted) for part, specs in lab.by_part.items()}


class SubmissionData:
    """Resolves fixture names for one submission, caching each value (or its failure)."""

    def __init__(self, runs: Mapping[str, PartRun], shared: dict[str, object], trainer, artifacts: dict[str, Artifact]) -> None:
        self.runs = runs
        self.artifacts = artifacts
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
        if name in self.artifacts or name in MEASURED:
            artifact = self.artifacts.get(name)
            part, probe, loader = (artifact.part, artifact.probe, artifact.load) if artifact else MEASURED[name]
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
