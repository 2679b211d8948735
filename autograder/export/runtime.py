"""Grading a saved notebook with `course grade`, for the notebook exports (otter-grader, nbgrader).

The exports call `grade_notebook` from the grading process, never from the student's kernel
(`nbgrader_execute.GradeWithCourse`, `otter_plugin.OtterPartScores`): a kernel that has run a
student cell can change whatever it computes. `check_part` is for students, in their kernel.

`grade_notebook` grades the notebook file exactly as `course grade` grades a `lab.ipynb`
submission: the graded functions are extracted from its code cells with `ast`, and the real
`course grade` runs on them in a subprocess (sandboxed probes, training by the grader, calibrated
thresholds). The result is kept per notebook content, so the four parts cost one grading.
`grade_part` (a score for one part) is for running by hand; no export computes a score in a kernel.

Example:
    >>> from autograder.export.runtime import check_part, grade_notebook
    >>> check_part("part_one", ["build_model", "compile_model"])  # doctest: +SKIP
    >>> grade_notebook("smoke", "lab.ipynb").score  # doctest: +SKIP
    100.0
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.grading.result import PartResult, SubmissionResult

NOTEBOOK_ENV = "COURSE_NOTEBOOK"
_GRADED: dict[tuple[str, str, str], SubmissionResult] = {}


class GradingFailed(RuntimeError):
    """`course grade` itself failed (not the student's code): the message carries its output."""


def notebook_path(notebook: str | os.PathLike | None = None) -> Path:
    """The notebook to grade: `notebook`, `$COURSE_NOTEBOOK`, or the one in the working folder."""
    from autograder.notebook_submission import find_notebook  # noqa: PLC0415

    chosen = notebook or os.environ.get(NOTEBOOK_ENV)
    path = Path(chosen) if chosen else find_notebook(Path.cwd())
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"Expected the saved notebook (lab.ipynb) in {Path.cwd()} or ${NOTEBOOK_ENV}. Received: {chosen or 'none found'}"
        )
    return path.resolve()


def config_path(bundle: str | os.PathLike | None = None) -> Path:
    """`course.yaml`: of the bundle folder if given and present, else `$COURSE_CONFIG` or the usual lookup."""
    from autograder.config import find_config  # noqa: PLC0415

    if bundle is not None and (Path(bundle) / "course.yaml").is_file():
        return (Path(bundle) / "course.yaml").resolve()
    return find_config()


def _part_modules(config: Path, part: str) -> tuple[str, list[str]]:
    """The part's module file name and graded functions, from `course.yaml`."""
    from autograder.config import load_config  # noqa: PLC0415

    course = load_config(config)
    if part not in course.parts:
        raise KeyError(f"Expected a part among {sorted(course.parts)}. Received: part={part!r}")
    return course.parts[part].module, list(course.parts[part].functions)


def check_part(
    part: str, functions: list[str] | None = None, notebook: str | os.PathLike | None = None, bundle: str | None = None
) -> None:
    """Say whether each graded function of `part` is defined in the saved notebook and written.

    Args:
        part: the lab part.
        functions: its graded functions (default: from `course.yaml`); the exported notebooks
            pass them, so students need no course configuration.
        notebook: the notebook (default: see `notebook_path`).
        bundle: a folder holding the exported `course.yaml`.

    Raises:
        AssertionError: a function is missing, still the stub, or its cell does not parse.
    """
    from autograder.notebook_submission import extract_modules  # noqa: PLC0415
    from autograder.submit.structure import function_statuses  # noqa: PLC0415

    path = notebook_path(notebook)
    if functions is None:
        functions = _part_modules(config_path(bundle), part)[1]
    module = f"{part}.py"
    source = extract_modules(path, {module: functions})[module]
    statuses = function_statuses(source, functions, path.name)
    for status in statuses:
        print(("✓ " if status.ok else "✗ ") + status.describe())
    problems = [s.describe() for s in statuses if not s.ok]
    if problems:
        raise AssertionError(f"Part {part!r} is not complete yet: " + "; ".join(problems))
    print(f"Part {part!r}: every graded function is written. The grader trains and measures it when you hand it in.")


def grade_notebook(profile: str, notebook: str | os.PathLike | None = None, bundle: str | None = None) -> SubmissionResult:
    """Grade the saved notebook with `course grade` (once per kernel and notebook content)."""
    from autograder.notebook_submission import module_folder  # noqa: PLC0415

    path = notebook_path(notebook)
    config = config_path(bundle)
    key = (hashlib.sha256(path.read_bytes()).hexdigest(), profile, str(config))
    if key in _GRADED:
        return _GRADED[key]
    from autograder.config import load_config  # noqa: PLC0415

    course = load_config(config)
    modules = [course.parts[p].module for p in course.part_names]
    with tempfile.TemporaryDirectory(prefix="course-notebook-") as scratch:
        holder = Path(scratch) / "notebook"
        holder.mkdir()
        (holder / "lab.ipynb").write_bytes(path.read_bytes())
        folder = module_folder(holder, modules, Path(scratch) / "lab", course)
        out = Path(scratch) / "graded"
        command = [sys.executable, "-m", "autograder.cli", "grade", str(folder), "--profile", profile,
                   "--out", str(out), "--config", str(config)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        from autograder.grading.batch import record_path  # noqa: PLC0415

        record = record_path(out, folder.name)
        # Exit 3: the submission could not be graded and has its zero row (a message for the TA).
        if done.returncode not in (0, 3) or not record.is_file():
            tail = (done.stderr or done.stdout or "")[-3000:]
            raise GradingFailed(f"`course grade` failed (exit status {done.returncode}):\n{tail}")
        result = SubmissionResult.from_dict(json.loads(record.read_text(encoding="utf-8"))["result"])
    _GRADED[key] = result
    return result


def part_report(part: PartResult) -> str:
    """The part's checks as text; hidden checks show their name and score, not their message.

    Messages are `student_text`: capped, the student's own error only (see `reports.feedback`).
    """
    from autograder.reports.feedback import student_text  # noqa: PLC0415

    lines = [f"{part.title}: {part.score:g} / {part.max_score:g} points"]
    if part.sandbox is not None and part.sandbox.outcome != "ok":
        lines.append(f"  Your code did not finish normally: {part.sandbox.outcome}. {student_text(part.sandbox.message)}".rstrip())
    for check in part.checks:
        mark = "✓" if check.ok else ("~" if check.score > 0 else "✗")
        line = f"  {mark} {check.score:g} / {check.max_score:g}  {check.name}"
        if check.visibility == "visible" and check.message and not check.ok:
            line += f": {student_text(check.message)}"
        lines.append(line)
    return "\n".join(lines)


def _part(result: SubmissionResult, part: str) -> PartResult:
    for candidate in result.parts:
        if candidate.part == part:
            return candidate
    raise KeyError(f"Expected part {part!r} in the grading result. Received: {[p.part for p in result.parts]}")


def grade_part(part: str, profile: str, notebook: str | os.PathLike | None = None, bundle: str | None = None) -> float:
    """Print the part's checks and return its score (nbgrader reads a test cell's number as its grade)."""
    found = _part(grade_notebook(profile, notebook, bundle), part)
    print(part_report(found))
    return min(found.score, found.max_score)  # rounding may put a full part 1e-4 above its points
