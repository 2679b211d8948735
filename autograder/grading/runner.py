"""Grade one submission: run each part's probes in the sandbox, then judge the data here."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path


from autograder.checks.result import CheckFailure
from autograder.context import CourseContext
from autograder.grading.fixtures import MissingData, SubmissionData, artifacts_of, needed_probes
from autograder.grading.inputs import GradingInputs, prepare_inputs
from autograder.grading.lab_checks import LabCheck, collect_checks, run_lab_check
from autograder.grading.public import SNAPSHOT, SnapshotReference, prepare_public_inputs
from autograder.grading.reference_outputs import FOLDER as REFERENCE_FOLDER
from autograder.grading.reference_outputs import ReferenceOutputs
from autograder.grading.result import PartResult, SubmissionResult
from autograder.grading.static import module_problem
from autograder.calibration import current_backend as _current_backend
from autograder.grading.worker_run import PartRun, default_limits, run_part, skipped_run
from autograder.probes.declare import LabProbes
from autograder.sandbox import Limits


# Part workers run at once per submission: two on a 2-core machine, at most four.
PARALLEL_PARTS = max(1, min(4, os.cpu_count() or 1))


def content_hash(folder: Path, modules: list[str]) -> str:
    """A hash of the graded modules' bytes (missing ones count as empty)."""
    digest = hashlib.sha256()
    for name in modules:
        path = Path(folder) / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:16]


class PartRuns(Mapping):
    """The parts' sandbox runs, each available once its worker is done (reading one waits for it)."""

    def __init__(self, futures: dict[str, Future]) -> None:
        self._futures = futures

    def __getitem__(self, part: str) -> PartRun:
        return self._futures[part].result()

    def __iter__(self):
        return iter(self._futures)

    def __len__(self) -> int:
        return len(self._futures)


class Thresholds(dict):
    """Calibrated thresholds by run name; a missing one fails its check with the reason."""

    def __init__(self, profile: str, values: dict, problem: str = "") -> None:
        super().__init__(values)
        self.profile = profile
        self.problem = problem

    def __missing__(self, key: str):
        raise CheckFailure(
            f"No calibrated threshold for {key!r} on profile {self.profile!r} ({self.problem or 'missing'}). "
            f"An instructor runs `course calibrate --profile {self.profile}` first."
        )


@dataclass
class Grader:
    """Everything shared by the submissions of a batch: inputs, reference, checks, limits."""

    ctx: CourseContext
    profile_name: str
    checks_dir: Path
    isolation_level: str | None = None
    console: object | None = None
    limits: Limits | None = None  # default: the profile's worker_seconds and worker_memory_gb
    public: bool = False  # `course check`: grader-made inputs and the release's reference snapshot
    inputs: GradingInputs = field(init=False)
    reference: ReferenceOutputs | SnapshotReference = field(init=False)
    checks: list[LabCheck] = field(init=False)

    def __post_init__(self) -> None:
        # The release's public checks are a subset, each worth what it is worth in the grade.
        self.checks = collect_checks(self.checks_dir, self.ctx.config, complete=not self.public)
        if self.public:
            self.inputs = prepare_public_inputs(self.ctx, self.profile_name, console=self.console)
        else:
            self.inputs = prepare_inputs(self.ctx, self.profile_name, console=self.console)
        # The lab's definition (the release's copy for public checks) and its probes, from the
        # copy every worker reads (the course's, never a submission's).
        self.definition = self.ctx.definition(public=self.public)
        self.lab_probes = LabProbes.read(self.inputs.probes_file)
        self.artifacts = artifacts_of(self.lab_probes)
        if self.public:
            self.reference = SnapshotReference.read(self.checks_dir / SNAPSHOT, self.profile_name, self.inputs)
            self.thresholds = Thresholds(self.profile_name, {}, "the public checks use no thresholds")
        else:
            self.reference = ReferenceOutputs(self.inputs.hidden / REFERENCE_FOLDER, self.artifacts)
            self.thresholds = self._thresholds()
        self.lab_cache: dict = {}  # what the lab's trainer reads once per batch
        self._reference_modules = None

    def class_names(self) -> tuple[str, ...]:
        """The lab's class names by label: its data's classes, else its definition's `CLASSES`."""
        if self.ctx.config.data is not None:
            return tuple(self.ctx.config.data.classes)
        return tuple(getattr(self.definition.module, "CLASSES", ()))

    def reference_modules(self):
        """The reference modules, imported once (trusted code, for a lab's own steps after a part)."""
        if self._reference_modules is None:
            self._reference_modules = self.ctx.reference_modules("grader_reference")
        return self._reference_modules

    def shared_values(self) -> dict[str, object]:
        """What every check may ask for by name besides the submission's data (`fixtures.SHARED`)."""
        return {
            "reference": self.reference, "settings": self.inputs.settings, "thresholds": self.thresholds,
            "grader_inputs": self.inputs.worker,
        }

    @property
    def probes(self) -> dict[str, tuple[str, ...]]:
        """part -> the probes its workers run: only those whose data the checks ask for."""
        return needed_probes(self.checks, self.lab_probes, self.definition)

    def _thresholds(self) -> Thresholds:
        from autograder.calibration import Calibration, calibration_path, find_calibration, profile_digest  # noqa: PLC0415

        if not self.ctx.has_solutions:  # a student kit: thresholds are the grader's
            return Thresholds(self.profile_name, {}, "no calibration in a student kit")
        backend = _current_backend()
        path = find_calibration(self.ctx, self.profile_name, self.inputs.profile, backend)
        if path is None:
            return Thresholds(self.profile_name, {}, f"no calibration file {calibration_path(self.ctx, self.profile_name, self.inputs.profile).name}")
        calibration = Calibration.read(path)

        problems = []
        if calibration.profile_digest != profile_digest(self.inputs.profile):
            problems.append("calibrated for other profile settings")
        if calibration.backend and calibration.backend != backend:
            problems.append(
                f"calibrated on the {calibration.backend} backend, graded on {backend} "
                "(accuracies may differ: calibrate on this backend)"
            )
        values = {name: {"threshold": t.threshold, "floor": t.floor} for name, t in calibration.thresholds.items()}
        return Thresholds(self.profile_name, values, "; ".join(problems))

    @property
    def settings_digest(self) -> str:
        return self.inputs.root.name

    def hidden_paths(self) -> list[Path]:
        """What a worker must never read: solutions, hidden tests and images, the grader's cache."""
        from autograder.data import locate_hidden_test  # noqa: PLC0415

        paths = [self.inputs.hidden, self.ctx.locations.cache_dir / "images"]
        if self.ctx.has_solutions:
            paths.insert(0, self.ctx.solutions_dir)
        if self.ctx.config.data is not None:
            try:
                paths.append(locate_hidden_test(self.ctx.config, self.ctx.locations))
            except FileNotFoundError:
                pass
        return [p for p in paths if p.exists()]

    def grade(self, submission: Path, parts: tuple[str, ...] | None = None) -> SubmissionResult:
        """Grade the modules in `submission` (a folder); never raises for what they do."""
        start = time.perf_counter()
        config, profile = self.ctx.config, self.inputs.profile
        parts = config.part_names if parts is None else tuple(parts)
        modules = [spec.module for spec in config.parts.values()]
        limits = self.limits or default_limits(profile.worker_seconds, profile.worker_memory_gb)
        probes = self.probes
        with tempfile.TemporaryDirectory(prefix="course-grade-") as work:
            # Passable, not listable: a root grader's plain level runs each part as a user id of
            # its own, which must reach its run folder (random name) and nothing else here.
            os.chmod(work, 0o711)
            hidden = self.hidden_paths()
            # A missing module or a syntax error: the part is not run, and every check of it says so.
            problems = {part: module_problem(Path(submission), config.parts[part].module) for part in parts}

            def sandboxed(part: str) -> PartRun:
                if problems[part]:
                    return skipped_run(part, problems[part], Path(work), probes.get(part, ()))
                if self.console is not None:
                    self.console.log(f"{Path(submission).name}: running {part} in the sandbox")
                return run_part(
                    part, Path(submission), config.parts[part].module, self.inputs, Path(work),
                    hidden, limits, self.isolation_level, probes=probes.get(part, ()),
                )

            # Parts are independent sandboxed processes: run a few at once (most of a worker's
            # time is starting Python and importing Keras). A part's checks start as soon as its
            # worker is done, while the other workers still run: its training fills the cores
            # the workers leave idle. Every check seeds before it loads or trains, so the order in
            # which parts finish changes no score.
            with ThreadPoolExecutor(max(1, min(PARALLEL_PARTS, len(parts)))) as pool:
                futures = {part: pool.submit(sandboxed, part) for part in parts}
                runs = PartRuns(futures)
                shared = self.shared_values()
                trainer = self.definition.submission_trainer(
                    profile, self.ctx.split_loader(profile), self.inputs, self.reference, self.lab_cache
                )
                data = SubmissionData(runs, shared, trainer, self.artifacts, self.definition)
                notes = [f"Thresholds of profile {self.profile_name!r}: {self.thresholds.problem}."] if self.thresholds.problem else []
                notes += [f"{config.parts[part].title}: not graded: {problem}." for part, problem in problems.items() if problem]
                graded: dict[str, PartResult] = {}
                finished = {future: part for part, future in futures.items()}
                for future in as_completed(finished):
                    part = finished[future]
                    if self.definition.after_part is not None:
                        hook = PartHook(self, part, data, Path(submission), Path(work), limits, probes.get(part, ()))
                        note = self.definition.after_part(part, hook)
                        if note:
                            notes.append(note)
                    graded[part] = self._grade_part(part, future.result(), data, Path(submission).name)
            results = [graded[part] for part in parts]
            notes += [note for note in trainer.notes if note not in notes]
        classes = self.class_names()
        for curve in data.curves:
            curve.classes = list(classes)
        return SubmissionResult(
            submission=Path(submission).name,
            content_hash=content_hash(Path(submission), modules),
            profile=self.profile_name,
            settings_digest=self.settings_digest,
            parts=results,
            curves=sorted(data.curves, key=lambda curve: self.definition.order(curve.name)),  # the lab's order
            execution_time=time.perf_counter() - start,
            notes=notes,
            problems=[problem for problem in problems.values() if problem],
            backend=_current_backend(),
        )

    def _grade_part(self, part: str, run: PartRun, data: SubmissionData, name: str) -> PartResult:
        """Run the part's checks on its data (and train its models)."""
        settings = self.ctx.config.parts[part]
        checks = [c for c in self.checks if c.meta.part == part]
        # Graded: the part's points. Public checks: what those checks are worth in the grade.
        points = sum(c.course_points for c in checks) if self.public else settings.points
        result = PartResult(part, settings.title, round(points, 4), [], run.sandbox)
        for check in checks:
            if self.console is not None:
                self.console.log(f"{name}: {check.meta.name}")
            result.checks.extend(run_lab_check(check, data))
        return result


@dataclass
class PartHook:
    """What a lab's `after_part(part, hook)` may use once a part's worker is done (before its checks)."""

    grader: Grader
    part: str
    data: SubmissionData
    submission: Path
    work: Path
    limits: Limits
    probes: tuple[str, ...]  # the part's probes that ran

    @property
    def public(self) -> bool:
        return self.grader.public

    @property
    def profile(self):
        return self.grader.inputs.profile

    @property
    def load(self):
        return self.grader.ctx.split_loader(self.profile)

    @property
    def reference(self):
        return self.grader.reference

    @property
    def trainer(self):
        return self.data.trainer

    def reference_modules(self):
        return self.grader.reference_modules()

    def value(self, name: str):
        """The submission's value of a fixture, or None when it could not be produced."""
        try:
            return self.data.get(name)
        except MissingData:
            return None

    def fail_probe(self, probe: str, error: str) -> None:
        """Record `probe` of this part as failed with `error` (its checks then fail with it)."""
        self.data.runs[self.part].outcomes[probe] = {"name": probe, "ok": False, "error": error}

    def rerun(self, probes: tuple[str, ...], inputs_dir: Path, artifacts: tuple[str, ...] = ()) -> PartRun:
        """Run `probes` of this part again in the sandbox on `inputs_dir`; `artifacts` are then read from that run."""
        grader = self.grader
        again = run_part(
            self.part, self.submission, grader.ctx.config.parts[self.part].module, grader.inputs, self.work,
            grader.hidden_paths(), self.limits, grader.isolation_level, probes=tuple(probes), inputs_dir=inputs_dir,
        )
        for name in artifacts:
            self.data.artifact_runs[name] = again
        return again
