"""Grade many submissions: in parallel, each written atomically as it finishes, resumable.

A submission already graded with the same content and settings is skipped (its stored result
is reused) unless `force`; so a killed batch, run again, picks up where it stopped.
"""

from __future__ import annotations

import concurrent.futures as futures
import json
import multiprocessing
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autograder.config import PART_NAMES
from autograder.context import CourseContext
from autograder.grading.result import SubmissionResult
from autograder.grading.runner import Grader, content_hash
from autograder.grading.submissions import Submission, discover
from autograder.reports.atomic import atomic_write_text
from autograder.reports.feedback import write_feedback
from autograder.reports.gradebook import write_gradebook
from autograder.reports.gradescope import write_results_json

RECORD = "grading.json"


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch (everything but the submissions)."""

    profile: str
    out: Path
    jobs: int = 1
    force: bool = False
    checks_dir: Path | None = None
    isolation_level: str | None = None
    config: str | None = None
    data_dir: str | None = None
    weights_dir: str | None = None
    cache_dir: str | None = None


def files_for(out: Path, name: str) -> dict[str, str]:
    folder = out / name
    return {"results_json": str(folder / "results.json"), "feedback": str(folder / "feedback.md")}


def _stored(out: Path, submission: Submission, key: str) -> SubmissionResult | None:
    record = out / submission.name / RECORD
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if data.get("key") != key or not (out / submission.name / "results.json").is_file():
        return None
    return SubmissionResult.from_dict(data["result"])


def write_outputs(out: Path, submission: Submission, result: SubmissionResult, key: str) -> None:
    """results.json, feedback and the grader's record; the record last, so it marks completion."""
    folder = out / submission.name
    folder.mkdir(parents=True, exist_ok=True)
    write_results_json(result, folder / "results.json")
    write_feedback(result, folder)
    atomic_write_text(folder / RECORD, json.dumps({"key": key, "result": result.to_dict()}) + "\n")


# -- one process per job -------------------------------------------------------------------------
_GRADER: Grader | None = None


def _context(options: BatchOptions) -> CourseContext:
    return CourseContext.create(options.config, options.data_dir, options.weights_dir, options.cache_dir)


def _make_grader(options: BatchOptions) -> Grader:
    ctx = _context(options)
    return Grader(ctx, options.profile, options.checks_dir or ctx.solutions_dir / "checks", options.isolation_level)


def _init_job(options: BatchOptions) -> None:
    global _GRADER  # noqa: PLW0603  (one grader per worker process, shared by its submissions)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _GRADER = _make_grader(options)


def _grade_one(options: BatchOptions, submission: Submission, key: str) -> SubmissionResult:
    if _GRADER is None:
        raise RuntimeError("Expected the job's grader to be initialised. Received: none")
    result = _GRADER.grade(submission.folder)
    result.submission = submission.name
    write_outputs(options.out, submission, result, key)
    return result


def submission_key(grader_digest: str, submission: Submission, modules: list[str]) -> str:
    return f"{grader_digest}:{content_hash(submission.folder, modules)}"


def run_batch(paths: list[Path], options: BatchOptions, console: Console | None = None) -> list[SubmissionResult]:
    """Grade every submission under `paths`; write results, feedback and the gradebook."""
    console = console or Console(stderr=True)
    ctx = _context(options)
    modules = [ctx.config.parts[p].module for p in PART_NAMES]
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-submissions-") as scratch:
        submissions = discover(paths, tuple(modules), Path(scratch))
        digest = _batch_digest(options, ctx)
        results: dict[str, SubmissionResult] = {}
        todo = []
        for submission in submissions:
            key = submission_key(digest, submission, modules)
            stored = None if options.force else _stored(options.out, submission, key)
            if stored is not None:
                results[submission.name] = stored
            else:
                todo.append((submission, key))
        if len(results):
            console.print(f"Skipping {len(results)} submission(s) already graded with the same content and settings.")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("Grading", total=len(todo))
            if options.jobs <= 1 or len(todo) <= 1:
                global _GRADER  # noqa: PLW0603
                if todo:
                    _GRADER = _make_grader(options)
                for submission, key in todo:
                    progress.update(task, description=f"Grading {submission.name}")
                    results[submission.name] = _grade_one(options, submission, key)
                    write_gradebook(list(results.values()), options.out / "gradebook.csv")
                    progress.advance(task)
            else:
                # Build the cached inputs here, once, before the jobs start and need them.
                from autograder.grading.inputs import prepare_inputs  # noqa: PLC0415

                progress.update(task, description="Preparing the grader's inputs")
                prepare_inputs(ctx, options.profile)
                progress.update(task, description="Grading")
                context = multiprocessing.get_context("spawn")
                with futures.ProcessPoolExecutor(options.jobs, context, _init_job, (options,)) as pool:
                    pending = {pool.submit(_grade_one, options, s, k): s for s, k in todo}
                    for done in futures.as_completed(pending):
                        submission = pending[done]
                        results[submission.name] = done.result()
                        write_gradebook(list(results.values()), options.out / "gradebook.csv")
                        progress.advance(task)
        write_gradebook(list(results.values()), options.out / "gradebook.csv")
        return [results[s.name] for s in submissions]


def _checks_digest(options: BatchOptions, ctx: CourseContext) -> str:
    import hashlib  # noqa: PLC0415

    folder = options.checks_dir or ctx.solutions_dir / "checks"
    digest = hashlib.sha256()
    calibration = ctx.solutions_dir / "calibration" / f"{options.profile}.json"
    for path in [*sorted(Path(folder).glob("*.py")), calibration]:
        digest.update(path.name.encode() + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()[:12]


def _batch_digest(options: BatchOptions, ctx: CourseContext) -> str:
    from autograder.grading.inputs import _digest  # noqa: PLC0415

    profile = ctx.profile(options.profile)
    return f"{options.profile}-{_digest(ctx, profile)}:{_checks_digest(options, ctx)}"
