"""What grading one submission produces: plain dataclasses, serialisable to JSON.

`SubmissionResult.to_gradescope()` gives Gradescope's `results.json`; reports (feedback,
gradebook, tables) are built from these objects and know nothing about how grading ran.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from autograder.checks.result import CheckResult


@dataclass
class SandboxSummary:
    """How the part's worker process ended, as the grader saw it."""

    outcome: str
    seconds: float
    isolation: str
    message: str = ""
    output_tail: str = ""
    limits: str = ""  # what enforced the memory/process/CPU limits: "cgroup v1", "cgroup v2" or "watchdog"


@dataclass
class TrainingCurve:
    """A model the grader trained for this submission: curves, hidden-test accuracy, predictions."""

    name: str
    accuracy: float
    history: dict[str, list[float]] = field(default_factory=dict)
    labels: list[int] = field(default_factory=list)
    probabilities: list = field(default_factory=list)  # one P(class 1) per image, or one row of class probabilities
    classes: list[str] = field(default_factory=list)  # class names by label, for reports


@dataclass
class PartResult:
    """One lab part: its checks (already scaled to the part's points) and how its worker ran."""

    part: str
    title: str
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    sandbox: SandboxSummary | None = None

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 4)


@dataclass
class SubmissionResult:
    """Everything the grader concluded about one submission."""

    submission: str
    content_hash: str
    profile: str
    settings_digest: str
    parts: list[PartResult] = field(default_factory=list)
    curves: list[TrainingCurve] = field(default_factory=list)
    execution_time: float = 0.0
    notes: list[str] = field(default_factory=list)
    # What kept parts from being graded (a missing module, a syntax error), one line each; and,
    # set by the batch: who handed it in and whether the files match their manifest.
    student: str = ""
    manifest: str = ""
    problems: list[str] = field(default_factory=list)
    backend: str = ""  # the Keras backend it was graded on (staff records; "" from earlier versions)

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.parts), 4)

    @property
    def max_score(self) -> float:
        return round(sum(p.max_score for p in self.parts), 4)

    def checks(self) -> list[CheckResult]:
        return [c for p in self.parts for c in p.checks]

    def to_gradescope(self) -> dict:
        """Gradescope's autograder `results.json` (score, execution_time, output, tests[])."""
        lines = [f"Profile {self.profile!r}: {self.score:g} / {self.max_score:g} points."]
        for part in self.parts:
            lines.append(f"- {part.title}: {part.score:g} / {part.max_score:g}")
            if part.sandbox and part.sandbox.outcome != "ok":
                lines.append(f"  (worker: {part.sandbox.outcome}: {part.sandbox.message})")
        lines += self.notes
        return {
            "score": self.score,
            "execution_time": round(self.execution_time, 1),
            "output": "\n".join(lines),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [
                {**check.to_gradescope_dict(), "tags": [check.part]} for check in self.checks()
            ],
        }

    def leaderboard(self) -> list[dict]:
        """Gradescope's `leaderboard` entries: each trained run's accuracy on the hidden split."""
        return [
            {"name": f"{curve.name} accuracy", "value": round(float(curve.accuracy), 4), "order": "desc"}
            for curve in self.curves
            if math.isfinite(curve.accuracy)
        ]

    def to_dict(self) -> dict:
        """Everything, for the grader's own records (resume, reports)."""
        data = asdict(self)
        data["score"], data["max_score"] = self.score, self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        parts = []
        for part in data["parts"]:
            checks = [CheckResult(**check) for check in part["checks"]]
            sandbox = SandboxSummary(**part["sandbox"]) if part.get("sandbox") else None
            parts.append(PartResult(part["part"], part["title"], part["max_score"], checks, sandbox))
        return cls(
            submission=data["submission"],
            content_hash=data["content_hash"],
            profile=data["profile"],
            settings_digest=data["settings_digest"],
            parts=parts,
            curves=[TrainingCurve(**curve) for curve in data.get("curves", [])],
            execution_time=data.get("execution_time", 0.0),
            notes=list(data.get("notes", [])),
            student=str(data.get("student", "")),
            manifest=str(data.get("manifest", "")),
            problems=[str(p) for p in data.get("problems", [])],
            backend=str(data.get("backend", "")),
        )
