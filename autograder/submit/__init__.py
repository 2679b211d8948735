"""`course submit`: check a student's working copy and package it as a zip `course grade` accepts.

In order: every graded file is there (the four modules, or `lab.ipynb` for the notebook version
of the lab); each parses and each graded function is defined (`structure.py`); the modules
import in a separate process (`importable.py`); the public checks run when `course check` is
available; then the zip is written with a manifest (`manifest.py`). A missing file, a syntax
error or a module that does not import is an error (no zip, unless forced); a function still
raising `NotImplementedError` is a warning: students may hand in part of the lab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder.context import CourseContext
from autograder.submit.importable import import_problems
from autograder.submit.manifest import STUDENT_ID, STUDENT_ID_RULE, build_manifest, write_zip
from autograder.submit.structure import SYNTAX, function_statuses

__all__ = ["SubmitError", "SubmitReport", "main", "zip_name"]


class SubmitError(ValueError):
    """A bad argument to `course submit` (the message names it, what was expected and received)."""


def zip_name(lab: str, student: str | None) -> str:
    """`<lab>-<student>.zip`, or `<lab>-submission.zip` without a student id."""
    return f"{lab}-{student or 'submission'}.zip"


@dataclass
class SubmitReport:
    """What `course submit` found and wrote."""

    folder: Path
    kind: str = "modules"
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    archive: Path | None = None


def _graded(ctx: CourseContext) -> dict[str, list[str]]:
    return {part.module: list(part.functions) for part in ctx.config.parts.values()}


def _sources(folder: Path, graded: dict[str, list[str]], report: SubmitReport) -> tuple[dict[str, str], dict[str, Path]]:
    """Module -> source to check, and zip name -> file to pack; records missing files as errors."""
    from autograder.notebook_submission import NotebookSubmissionError, extract_modules, find_notebook  # noqa: PLC0415

    present = [name for name in graded if (folder / name).is_file()]
    notebook = find_notebook(folder)
    if not present and notebook is not None:
        report.kind = "notebook"
        try:
            return extract_modules(notebook, graded), {"lab.ipynb": notebook}
        except (NotebookSubmissionError, RecursionError, MemoryError) as exc:
            reason = str(exc) if isinstance(exc, NotebookSubmissionError) else f"{notebook}: nested too deeply to read"
            report.errors.append(reason)
            return {}, {"lab.ipynb": notebook}
    missing = [name for name in graded if name not in present]
    if missing:
        report.errors.append(f"Expected every graded file in {folder}. Missing: {', '.join(missing)}")
    sources = {name: (folder / name).read_text(encoding="utf-8", errors="replace") for name in present}
    files = {path.name: path for path in sorted(folder.glob("*.py")) if path.is_file() and not path.name.startswith(".")}
    return sources, files


def _public_checks(ctx: CourseContext, folder: Path, profile: str, report: SubmitReport, console) -> dict | None:
    """The public checks' score through `course check`, when that stage exists."""
    try:
        from autograder.grading import check as stage  # noqa: PLC0415
    except ImportError:
        report.notes.append("Public checks skipped: `course check` is not available in this installation.")
        return None
    try:
        result = stage.main(ctx, folder, profile, console=console)
    except Exception as exc:  # no data, no release folder...: the zip is still worth writing
        report.warnings.append(f"The public checks could not run ({type(exc).__name__}: {exc}).")
        return None
    return {"profile": profile, "score": result.score, "max_score": result.max_score}


def main(
    ctx: CourseContext, folder: Path, out: Path | None = None, *, checks: bool = True, force: bool = False,
    profile: str = "smoke", console=None, student: str | None = None, out_dir: Path | None = None,
) -> SubmitReport:
    """Check `folder` and, unless an error was found (or `force`), write the submission zip.

    Args:
        ctx: the course.
        folder: the student's working copy.
        out: the zip to write (default: `zip_name(lab, student)` in `out_dir`).
        checks: run the public checks (`course check`) when available.
        force: write the zip even when errors were found.
        profile: the profile the public checks run on.
        console: where the public checks print their table.
        student: the student's id, recorded in the manifest and in the zip's name.
        out_dir: where the zip goes when `out` is not given (default: the current folder).

    Returns:
        The report, with `archive` set when a zip was written.

    Raises:
        SubmitError: `student` is not a valid id.
    """
    if student is not None and not STUDENT_ID.match(student):
        raise SubmitError(f"Expected a student id of {STUDENT_ID_RULE}. Received: student={student[:80]!r}")
    folder = Path(folder).resolve()
    report = SubmitReport(folder)
    graded = _graded(ctx)
    sources, files = _sources(folder, graded, report)
    statuses = {}
    for name, source in sources.items():
        found = function_statuses(source, graded[name], name)
        statuses[name] = {s.name: s.status for s in found}
        for status in found:
            target = report.errors if status.status == SYNTAX else report.warnings
            if not status.ok and status.describe() not in target:
                target.append(f"{name}: {status.describe()}")
    if report.kind == "modules" and not report.errors:
        for name, problem in import_problems(folder, {n: graded[n] for n in sources}).items():
            report.errors.append(f"{name} {problem}")
    public = _public_checks(ctx, folder, profile, report, console) if checks and not report.errors else None
    if report.errors and not force:
        return report
    lab = ctx.config.course.lab
    manifest = build_manifest(lab, report.kind, files, statuses, public, student)
    target = Path(out) if out is not None else Path(out_dir or ".") / zip_name(lab, student)
    report.archive = write_zip(target.resolve(), files, manifest)
    return report
