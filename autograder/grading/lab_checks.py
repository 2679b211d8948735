"""Collect the lab's check functions from a checks folder and run them on a submission's data."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.checks import check_meta, run_check
from autograder.checks.registry import CheckMeta
from autograder.checks.result import CheckResult, failed
from autograder.config import CourseConfig
from autograder.grading.fixtures import MissingData, SubmissionData
from autograder.training.lab_modules import import_module_from


@dataclass(frozen=True)
class LabCheck:
    """One decorated check function, where it came from, and what it is worth in course points
    (what its `@check(points=...)` declares)."""

    function: Callable
    meta: CheckMeta
    source: str

    @property
    def course_points(self) -> float:
        return self.meta.points

    @property
    def parameters(self) -> list[str]:
        return list(inspect.signature(self.function).parameters)


def collect_checks(folder: Path, config: CourseConfig, complete: bool = True) -> list[LabCheck]:
    """Every `@check` function defined in `folder/*.py` (files starting with `_` are helpers);
    its `points=` are course points. Check files are not pytest files: name them for their part
    (e.g. `scratch_checks.py`) and each check for what it checks.

    Args:
        folder: a checks folder (the lab's hidden checks, or the release's public ones).
        config: the course, for its parts and their points.
        complete: the folder holds all of the lab's checks, so each part's checks must add up
            to that part's points in `course.yaml` (False for the release's public checks,
            a subset worth what they are worth in the grade).

    Raises:
        ValueError: a check names a part that `course.yaml` does not have, or (complete) a
            part's checks do not add up to its points; the message names both numbers.
    """
    found: list[tuple[Callable, CheckMeta, str]] = []
    for path in sorted(p for p in Path(folder).glob("*.py") if not p.name.startswith("_")):
        module = import_module_from(path, f"lab_checks_{path.parent.parent.name}_{path.stem}")
        for name, function in vars(module).items():
            meta = check_meta(function) if callable(function) else None
            if meta is not None and getattr(function, "__module__", None) == module.__name__:
                if meta.part not in config.parts:
                    raise ValueError(
                        f"{path}: check {name} names an unknown part. Expected one of "
                        f"{sorted(config.parts)}. Received: part={meta.part!r}"
                    )
                found.append((function, meta, f"{path.name}::{name}"))
    if complete:
        totals = {part: 0.0 for part in config.parts}
        for _, meta, _ in found:
            totals[meta.part] += meta.points
        wrong = [
            f"{part}: the checks add up to {total:g}, course.yaml gives the part {config.parts[part].points:g}"
            for part, total in totals.items()
            if abs(total - config.parts[part].points) > 1e-6
        ]
        if wrong:
            raise ValueError(
                f"{folder}: expected each part's checks (@check points=...) to add up to the part's points in "
                f"course.yaml. Received: {'; '.join(wrong)}."
            )
    return [LabCheck(fn, meta, source) for fn, meta, source in found]


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
    return run_check(check.function, *values)  # already spread over the check's declared points
