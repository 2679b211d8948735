"""Collect the lab's check functions from a checks folder and run them on a submission's data."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.checks import check_meta, run_check
from autograder.checks.registry import CheckMeta
from autograder.checks.result import CheckResult, failed
from autograder.config import CourseConfig
from autograder.grading.fixtures import MissingData, SubmissionData
from autograder.training.lab_modules import import_module_from


@dataclass(frozen=True)
class LabCheck:
    """One decorated check function, where it came from, and what it is worth in course points."""

    function: Callable
    meta: CheckMeta
    source: str
    course_points: float

    @property
    def parameters(self) -> list[str]:
        return list(inspect.signature(self.function).parameters)


def collect_checks(folder: Path, config: CourseConfig) -> list[LabCheck]:
    """Every `@check` function in `folder/test_*.py`, with its points scaled to `course.yaml`.

    A part's checks share that part's points in proportion to their `@check(points=...)`.

    Raises:
        ValueError: a check names a part that `course.yaml` does not have.
    """
    found: list[tuple[Callable, CheckMeta, str]] = []
    for path in sorted(Path(folder).glob("test_*.py")):
        module = import_module_from(path, f"lab_checks_{path.parent.parent.name}_{path.stem}")
        for name, function in vars(module).items():
            meta = check_meta(function) if callable(function) else None
            if meta is not None and name.startswith("test_"):
                if meta.part not in config.parts:
                    raise ValueError(
                        f"{path}: check {name} names an unknown part. Expected one of "
                        f"{sorted(config.parts)}. Received: part={meta.part!r}"
                    )
                found.append((function, meta, f"{path.name}::{name}"))
    totals: dict[str, float] = {}
    for _, meta, _ in found:
        totals[meta.part] = totals.get(meta.part, 0.0) + meta.points
    return [
        LabCheck(fn, meta, source, config.parts[meta.part].points * meta.points / totals[meta.part] if totals[meta.part] else 0.0)
        for fn, meta, source in found
    ]


def _rescale(results: list[CheckResult], check: LabCheck) -> list[CheckResult]:
    total = sum(r.max_score for r in results) or 1.0
    factor = check.course_points / total
    return [
        replace(r, points=check.course_points, score=r.score * factor, max_score=r.max_score * factor, part=check.meta.part)
        for r in results
    ]


def run_lab_check(check: LabCheck, data: SubmissionData) -> list[CheckResult]:
    """Run one check on the submission's data; missing inputs fail it with their reason."""
    try:
        values = [data.get(name) for name in check.parameters]
    except MissingData as exc:
        return [
            failed(
                check.meta.name,
                f"Not checked: {exc}",
                max_score=check.course_points,
                part=check.meta.part,
                visibility=check.meta.visibility,
            )
        ]
    return _rescale(run_check(check.function, *values), check)
