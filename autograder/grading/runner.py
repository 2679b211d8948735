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

import numpy as np

from autograder.checks.result import CheckFailure
from autograder.config import PART_NAMES
from autograder.context import CourseContext
from autograder.grading.base_features import base_difference, features_of, write_linear_inputs
from autograder.grading.fixtures import MissingData, SubmissionData, artifacts_of, needed_probes
from autograder.grading.inputs import GradingInputs, prepare_inputs
from autograder.grading.lab_checks import LabCheck, collect_checks, run_lab_check
from autograder.grading.public import SNAPSHOT, SnapshotReference, prepare_public_inputs
from autograder.grading.reference_outputs import FOLDER as REFERENCE_FOLDER
from autograder.grading.reference_outputs import ReferenceOutputs
from autograder.grading.result import PartResult, SubmissionResult
from autograder.grading.training import SubmissionTrainer
from autograder.grading.worker_run import PartRun, default_limits, run_part
from autograder.probes.declare import LabProbes
from autograder.sandbox import Limits
from autograder.training.lab_modules import load_lab_modules
from autograder.training.pipeline import RUN_NAMES


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


def _curve_order(curve) -> int:
    return RUN_NAMES.index(curve.name) if curve.name in RUN_NAMES else len(RUN_NAMES)


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
        # The lab's probes, from the copy every worker reads (the course's, never a submission's).
        self.lab_probes = LabProbes.read(self.inputs.probes_file)
        self.artifacts = artifacts_of(self.lab_probes)
        if self.public:
            self.reference = SnapshotReference.read(self.checks_dir / SNAPSHOT, self.profile_name, self.inputs)
            self.thresholds = Thresholds(self.profile_name, {}, "the public checks use no thresholds")
        else:
            self.reference = ReferenceOutputs(self.inputs.hidden / REFERENCE_FOLDER, self.artifacts)
            self.thresholds = self._thresholds()
        with np.load(self.inputs.hidden / "labels.npz", allow_pickle=False) as labels:
            self.hidden_labels = labels["test"]
        self.linear_features: dict[str, np.ndarray] = {}
        if (self.inputs.hidden / "linear_eval.npz").is_file():
            with np.load(self.inputs.hidden / "linear_eval.npz", allow_pickle=False) as arrays:
                self.linear_features = {key: arrays[key] for key in arrays.files}
        self._frozen_weights: list | None = None
        self._reference_lab = None

    def frozen_weights(self) -> list:
        """The weights of the grader's frozen model (what part 4 starts fine-tuning from)."""
        if self._frozen_weights is None:
            import keras  # noqa: PLC0415

            model = keras.models.load_model(self.inputs.worker / "frozen_model.keras", safe_mode=True)
            self._frozen_weights = [np.asarray(w) for w in model.get_weights()]
        return self._frozen_weights

    def reference_lab(self):
        """The reference modules, imported once (the grader's own extraction on another base)."""
        if self._reference_lab is None:
            self._reference_lab = load_lab_modules(self.ctx.solutions_dir, prefix="grader_reference")
        return self._reference_lab

    def shared_values(self) -> dict[str, object]:
        """What every check may ask for by name besides the submission's data (`fixtures.SHARED`)."""
        return {
            "reference": self.reference, "settings": self.inputs.settings, "thresholds": self.thresholds,
            "grader_inputs": self.inputs.worker,
        }

    @property
    def probes(self) -> dict[str, tuple[str, ...]]:
        """part -> the probes its workers run: only those whose data the checks ask for."""
        return needed_probes(self.checks, self.lab_probes)

    def _thresholds(self) -> Thresholds:
        from autograder.calibration import Calibration, calibration_path, profile_digest  # noqa: PLC0415

        path = calibration_path(self.ctx, self.profile_name)
        if not path.is_file():
            return Thresholds(self.profile_name, {}, f"no calibration file {path.name}")
        calibration = Calibration.read(path)
        stale = calibration.profile_digest != profile_digest(self.inputs.profile)
        values = {name: {"threshold": t.threshold, "floor": t.floor} for name, t in calibration.thresholds.items()}
        return Thresholds(self.profile_name, values, "calibrated for other profile settings" if stale else "")

    @property
    def settings_digest(self) -> str:
        return self.inputs.root.name

    def hidden_paths(self) -> list[Path]:
        """What a worker must never read: solutions, hidden tests and images, the grader's cache."""
        from autograder.data import locate_hidden_test  # noqa: PLC0415

        paths = [self.ctx.solutions_dir, self.inputs.hidden, self.ctx.locations.cache_dir / "images"]
        try:
            paths.append(locate_hidden_test(self.ctx.config, self.ctx.locations))
        except FileNotFoundError:
            pass
        return [p for p in paths if p.exists()]

    def grade(self, submission: Path, parts: tuple[str, ...] = PART_NAMES) -> SubmissionResult:
        """Grade the modules in `submission` (a folder); never raises for what they do."""
        start = time.perf_counter()
        config, profile = self.ctx.config, self.inputs.profile
        modules = [config.parts[p].module for p in PART_NAMES]
        limits = self.limits or default_limits(profile.worker_seconds, profile.worker_memory_gb)
        probes = self.probes
        with tempfile.TemporaryDirectory(prefix="course-grade-") as work:
            # Passable, not listable: a root grader's plain level runs each part as a user id of
            # its own, which must reach its run folder (random name) and nothing else here.
            os.chmod(work, 0o711)
            hidden = self.hidden_paths()

            def sandboxed(part: str) -> PartRun:
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
                trainer = SubmissionTrainer(
                    profile, self.ctx.split_loader(profile), self.hidden_labels, dict(self.linear_features),
                    reference_base=lambda: self.reference.base, frozen_weights=self.frozen_weights,
                )
                data = SubmissionData(runs, shared, trainer, self.artifacts)
                notes = [f"Thresholds of profile {self.profile_name!r}: {self.thresholds.problem}."] if self.thresholds.problem else []
                graded: dict[str, PartResult] = {}
                finished = {future: part for part, future in futures.items()}
                for future in as_completed(finished):
                    part = finished[future]
                    if part == "feature_extraction" and "linear_classifier" in probes.get(part, ()) and not self.public:
                        note = self._own_base_features(data, Path(submission), Path(work), limits)
                        if note:
                            notes.append(note)
                    graded[part] = self._grade_part(part, future.result(), data, Path(submission).name)
            results = [graded[part] for part in parts]
            notes += [note for note in trainer.notes if note not in notes]
        return SubmissionResult(
            submission=Path(submission).name,
            content_hash=content_hash(Path(submission), modules),
            profile=self.profile_name,
            settings_digest=self.settings_digest,
            parts=results,
            curves=sorted(data.curves, key=_curve_order),  # the lab's order, whichever part finished first
            execution_time=time.perf_counter() - start,
            notes=notes,
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

    def _own_base_features(self, data: SubmissionData, submission: Path, work: Path, limits: Limits) -> str | None:
        """Fit the linear classifier again on the student's own base when it is not the reference's.

        Runs before any check reads `linear`. Returns a note for the student, or None when the
        shared reference features were right (the same base) or when no base was built (the
        load_base checks say why). Never raises for what the returned base is or does.
        """
        try:
            student = data.get("base")  # the same loaded model the load_base check judges
        except MissingData:
            return None
        try:
            difference = base_difference(student, self.reference.base)
        except Exception as exc:  # noqa: BLE001  (a returned object the grader cannot even compare)
            difference = f"a base the grader could not compare ({type(exc).__name__}: {str(exc)[:200]})"
        if difference is None:
            return None
        profile = self.inputs.profile
        try:
            arrays = features_of(
                student, self.reference_lab().feature_extraction.extract_features, self.ctx.split_loader(profile),
                profile.base.image_size,
            )
        except Exception as exc:  # noqa: BLE001  (a base the grader cannot run earns no linear accuracy)
            data.runs["feature_extraction"].outcomes["linear_classifier"] = {
                "name": "linear_classifier", "ok": False,
                "error": f"The grader could not extract features with the base from load_base ({difference}): {type(exc).__name__}: {exc}",
            }
            return f"load_base returned a base other than the reference's ({difference}) that the grader could not run."
        folder = write_linear_inputs(work / "linear-own-base", arrays, profile.seed)
        module = self.ctx.config.parts["feature_extraction"].module
        again = run_part(
            "feature_extraction", submission, module, self.inputs, work, self.hidden_paths(), limits,
            self.isolation_level, probes=("linear_classifier",), inputs_dir=folder,
        )
        # Read from that run's own output folder, as data; the grader applies it to the
        # own-base features of the validation and hidden splits, which no worker ever sees.
        data.artifact_runs["linear"] = again
        data.trainer.linear_features = {"validation": arrays["validation"], "test": arrays["test"]}
        return (
            f"load_base returned a base other than the reference's ({difference}), so fit_linear_classifier was "
            "fitted and scored on that base's features (extracted by the grader with the reference's preprocessing and pooling)."
        )
