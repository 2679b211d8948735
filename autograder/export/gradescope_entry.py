"""What `run_autograder` runs on Gradescope: grade `ROOT/submission` into `ROOT/results/results.json`.

It always leaves a valid `results.json`: a submission with nothing to grade scores zero with a
message that says what was expected, and a failure of the grader itself scores zero with the
error (and exits 1, so Gradescope flags the run). `--prepare` only builds the grader's cached
inputs (run once by `setup.sh`). `COURSE_SANDBOX_LEVEL` forces the sandbox's isolation level.

Who runs what: always `course grade`'s batch, so the steps that load and train the returned
models run in a grading child held to a wall-clock limit and a memory cap
(`--grading-seconds`, `--grading-memory-gb`; defaults from the profile). With bubblewrap the
child drops to `course-grader` and the sandbox hides the grader's files. At the plain level
(no user namespaces, the usual container) nothing hides a path, so only file modes protect the
solutions, the hidden checks and the hidden split (see `lockdown.sh`): there a root
`run_autograder`'s child stays root, so that the sandbox runs student code under a per-run user
id that owns nothing and can read none of them. (A child dropped to `course-grader` would run
student code as `course-grader` itself, which must read them.)

Example:
    $ python -m autograder.export.gradescope_entry --root /autograder --profile smoke
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from rich.console import Console

from autograder.reports.atomic import atomic_write_text
from autograder.terminal import make_console


def _zero(path: Path, message: str, started: float) -> None:
    import json  # noqa: PLC0415

    from autograder.reports.feedback import student_text  # noqa: PLC0415

    message = student_text(message)  # it can name the submission's files: students read it
    data = {
        "score": 0.0,
        "execution_time": round(time.perf_counter() - started, 1),
        "output": message,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def prepare(profile: str) -> None:
    """Build (or find in the cache) the profile's grading inputs."""
    from autograder.context import CourseContext  # noqa: PLC0415
    from autograder.grading.inputs import prepare_inputs  # noqa: PLC0415

    prepare_inputs(CourseContext.create(download=False), profile, console=make_console(stderr=True))


LEVEL_ENV = "COURSE_SANDBOX_LEVEL"


def isolation_level() -> str | None:
    """The forced isolation level (`$COURSE_SANDBOX_LEVEL`), or None for the strongest available."""
    return os.environ.get(LEVEL_ENV) or None


def grades_as_root(level: str | None) -> bool:
    """True when student code would run at the plain level under a root `run_autograder`."""
    from autograder.sandbox.isolation import choose_level  # noqa: PLC0415
    from autograder.sandbox.result import IsolationLevel  # noqa: PLC0415

    return os.geteuid() == 0 and choose_level(level) is IsolationLevel.PLAIN


def _grade_one(ctx, submission: Path, profile: str, level: str | None, scratch: Path, console: Console, caps: dict):
    """The submission's `SubmissionResult`, graded by a batch of one (see above for the user)."""
    from autograder.grading.batch import BatchOptions, run_batch  # noqa: PLC0415

    options = BatchOptions(
        profile=profile, out=scratch / "graded", config=str(ctx.config_path), isolation_level=level,
        keep_user=grades_as_root(level), **caps,
    )
    return list(run_batch([submission], options, console=console))


def grade(root: Path, profile: str, console: Console, caps: dict | None = None) -> int:
    """Grade the submission under `root`; return the exit status (0 unless the grader failed)."""
    from autograder.context import CourseContext  # noqa: PLC0415
    from autograder.grading.submissions import SubmissionError  # noqa: PLC0415
    from autograder.notebook_submission import module_folder  # noqa: PLC0415
    from autograder.reports.gradescope import write_results_json  # noqa: PLC0415

    started = time.perf_counter()
    results_path = root / "results" / "results.json"
    try:
        ctx = CourseContext.create(download=False)
        modules = tuple(part.module for part in ctx.config.parts.values())
        with tempfile.TemporaryDirectory(prefix="course-gradescope-") as scratch:
            submission = module_folder(root / "submission", modules, Path(scratch) / "submission", ctx.config)
            results = _grade_one(ctx, submission, profile, isolation_level(), Path(scratch), console, caps or {})
        if len(results) != 1:
            names = [r.submission for r in results]
            _zero(results_path, f"Expected one submission. Received: {len(results)} ({', '.join(names)})", started)
            return 0
        write_results_json(results[0], results_path, leaderboard=ctx.config.course.leaderboard)
        return 0
    except SubmissionError as exc:
        _zero(results_path, f"Nothing to grade: {exc}", started)
        return 0
    except Exception as exc:  # the grader's own failure: still leave a results.json behind
        traceback.print_exc()
        _zero(results_path, f"The autograder failed ({type(exc).__name__}: {exc}). Your instructor has been told.", started)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/autograder"), help="Gradescope's /autograder folder.")
    parser.add_argument("--profile", required=True, help="The profile the thresholds were calibrated on.")
    parser.add_argument("--prepare", action="store_true", help="Only prepare the grader's inputs (setup.sh).")
    parser.add_argument("--grading-seconds", type=float, help="Wall-clock limit of the grading child (default: the profile's).")
    parser.add_argument("--grading-memory-gb", type=float, help="Memory cap of the grading child in GiB (default: the profile's).")
    args = parser.parse_args(argv)
    if args.prepare:
        prepare(args.profile)
        return 0
    caps = {"grading_seconds": args.grading_seconds, "grading_memory_gb": args.grading_memory_gb}
    return grade(args.root.resolve(), args.profile, make_console(stderr=True), caps)


if __name__ == "__main__":
    sys.exit(main())
