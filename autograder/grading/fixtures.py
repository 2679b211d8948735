"""Named data that lab checks ask for by parameter name, resolved lazily by the grader.

A check such as `def scratch_parameter_counts(scratch_150, reference)` gets the submission's model (built in the
sandbox, loaded here in safe mode) and the reference's. When the probe behind a name failed,
the check is not called: it fails with the probe's error (e.g. the NotImplementedError of a
stub), so every check says which function let it down.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


from autograder.grading.linear_model import LinearExportError
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


# A lab's trained results (its `RUNS` with a fixture) and measured values (`MEASURED`) come
# from its definition; these say what kind of value each is.
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


def fixture_catalogue(lab: LabProbes, definition) -> list[FixtureInfo]:
    """Every name a check may ask for: the grader's, the probes' artifacts, measured and trained values."""
    artifacts = artifacts_of(lab)
    out = [FixtureInfo(name, "", "the grader", kind) for name, kind in SHARED.items()]
    out += [FixtureInfo(name, a.part, f"probe {a.probe}", a.kind) for name, a in artifacts.items()]
    out += [FixtureInfo(name, m.part, f"measured on probe {m.probe}'s model", m.kind) for name, m in definition.measured.items()]
    for name, run in definition.trained.items():
        part = artifacts[run.needs[0]].part if run.needs and run.needs[0] in artifacts else ""
        out.append(FixtureInfo(name, part, f"run {run.name}, trained from {', '.join(run.needs)}", TRAINED_KIND))
    return out


def needed_probes(checks, lab: LabProbes, definition) -> dict[str, tuple[str, ...]]:
    """part -> the probes whose artifacts `checks` ask for (directly or to train), in run order."""
    artifacts = artifacts_of(lab)
    measured, trained = definition.measured, definition.trained
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name in artifacts:
            wanted.add(artifacts[name].probe)
        elif name in measured:
            wanted.add(measured[name].probe)
        elif name in trained:
            for need in trained[name].needs:
                add(need)

    for check in checks:
        for name in check.parameters:
            add(name)
    return {part: tuple(spec.name for spec in specs if spec.name in wanted) for part, specs in lab.by_part.items()}


class SubmissionData:
    """Resolves fixture names for one submission, caching each value (or its failure)."""

    def __init__(
        self, runs: Mapping[str, PartRun], shared: dict[str, object], trainer, artifacts: dict[str, Artifact], definition
    ) -> None:
        self.runs = runs
        self.artifacts = artifacts
        self.measured = definition.measured
        self.trained = definition.trained
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
        if name in self.artifacts or name in self.measured:
            artifact = self.artifacts.get(name)
            if artifact is not None:
                part, probe, loader = artifact.part, artifact.probe, artifact.load
            else:
                part, probe, loader = self.measured[name].part, self.measured[name].probe, self.measured[name].measure
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
                if name in self.measured:
                    return loader(run.out, self.shared["grader_inputs"], self.trainer.profile.seed)
                return loader(run.out)
            except Exception as exc:  # noqa: BLE001  (whatever a returned object does, it is that check's failure)
                reason = str(exc) if isinstance(exc, (UntrustedArtifactError, LinearExportError)) else f"{type(exc).__name__}: {exc}"
                raise MissingData(f"`{probe}` returned something the grader cannot use: {reason}") from None
        if name in self.trained:
            run = self.trained[name]
            values = [self.get(need) for need in run.needs]
            start = time.perf_counter()
            try:
                curve = getattr(self.trainer, run.name)(*values)
            except Exception as exc:  # noqa: BLE001  (a model that cannot train earns no accuracy)
                raise MissingData(f"Training failed: {type(exc).__name__}: {exc}") from None
            curve.history.setdefault("seconds", [round(time.perf_counter() - start, 1)])
            self.curves.append(curve)
            return curve
        raise MissingData(f"No data named {name!r} (a mistake in the check, not in the submission)")


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')


def _student_frames(lines: list[str]) -> list[str]:
    """The traceback's frames in the student's own files (the worker's `submission/` copy), each
    named by its file name; the grader's frames (worker, probes, Keras) are left out."""
    kept: list[str] = []
    keep = False
    for line in lines:
        frame = _FRAME.match(line)
        if frame:
            keep = "/submission/" in frame["file"]
            if keep:
                kept.append(f'  File "{Path(frame["file"]).name}", line {frame["line"]}, in {frame["function"]}')
        elif line.startswith("Traceback (most recent call last)") or line.startswith("[...]"):
            keep = False
        elif keep:
            kept.append(line)
    return kept


def _short(error: str, limit: int = 1200) -> str:
    """The exception line first (it names the failing call), then the student's frames of the traceback."""
    lines = [line for line in error.strip().splitlines() if line.strip() and set(line.strip()) != {"^"}]
    if not lines:
        return "failed"
    head = lines[-1]
    context = "\n".join(_student_frames(lines[:-1]) if any(_FRAME.match(line) for line in lines) else lines[:-1])
    if len(context) > limit:
        context = "[...]\n" + context[-limit:]
    return f"{head}\n{context}" if context else head
