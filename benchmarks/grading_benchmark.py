"""Benchmark: grade N copies of the reference solution on the smoke profile, with and without jobs.

Prints one table: for each run, the wall time, the time per submission, and the first
submission (which also prepares the grader's cached inputs: reference features, the frozen
model) against the rest.

    python benchmarks/grading_benchmark.py --copies 1 8 --jobs 1 2 --data-dir ../shared/data \
        --weights-dir ../shared/weights/keras --markdown /tmp/grading.md
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.context import CourseContext
from autograder.grading.batch import BatchOptions, run_batch
from autograder.reference import machine_summary

from _options import course_context, course_options  # benchmarks/_options.py

def make_copies(ctx: CourseContext, root: Path, copies: int) -> Path:
    batch = root / f"batch-{copies}"
    for i in range(copies):
        folder = batch / f"student{i:02d}"
        folder.mkdir(parents=True)
        for module in (spec.module for spec in ctx.config.parts.values()):
            shutil.copy(ctx.solutions_dir / module, folder / module)
    return batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    course_options(parser, profile="smoke")
    args = parser.parse_args()
    console = Console()
    ctx = course_context(args)
    grading_cache = ctx.locations.cache_dir / "grading"
    rows = []
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as scratch:
        root = Path(scratch)
        for copies in args.copies:
            for jobs in args.jobs:
                if jobs > copies:
                    continue
                shutil.rmtree(grading_cache, ignore_errors=True)  # the first submission prepares the inputs
                batch = make_copies(ctx, root / f"{copies}-{jobs}", copies)
                options = BatchOptions(
                    profile=args.profile, out=root / f"out-{copies}-{jobs}", jobs=jobs, config=str(ctx.config_path), lab=ctx.lab,
                    data_dir=args.data_dir, weights_dir=args.weights_dir, cache_dir=str(ctx.locations.cache_dir),
                )
                start = time.perf_counter()
                results = run_batch([batch], options, console=Console(stderr=True, quiet=True))
                wall = time.perf_counter() - start
                times = [r.execution_time for r in results]
                scores = {round(r.score, 3) for r in results}
                rest = statistics.mean(times[1:]) if len(times) > 1 else float("nan")
                rows.append((copies, jobs, wall, wall / copies, times[0], rest, scores))
                console.print(f"{copies} copies, --jobs {jobs}: {wall:.0f} s ({wall / copies:.0f} s per submission)")
    def seconds(value: float) -> str:
        return "-" if value != value else f"{value:.0f}"  # NaN: no "rest" with a single copy

    table = Table(title=f"Grading the reference on profile {args.profile!r}")
    for column in ("Copies", "--jobs", "Wall (s)", "Per submission (s)", "First: grading only (s)", "Rest, mean (s)", "Scores"):
        table.add_column(column, justify="right")
    for copies, jobs, wall, per, first, rest, scores in rows:
        table.add_row(str(copies), str(jobs), f"{wall:.0f}", f"{per:.0f}", f"{first:.0f}", seconds(rest), ", ".join(map(str, sorted(scores))))
    console.print(table)
    console.print(f"Machine: {machine_summary()}")
    if args.markdown:
        lines = [
            f"Profile `{args.profile}`, {datetime.date.today().isoformat()}, {machine_summary()}.",
            "Wall time includes preparing the grader's cached inputs once per run (reference features of the",
            "hidden split, the frozen model to fine-tune); per-submission grading times exclude it.",
            "",
            "| Copies | --jobs | Wall (s) | Per submission (s) | First submission (s) | Rest, mean (s) | Scores |",
            "|---:|---:|---:|---:|---:|---:|---|",
        ]
        for copies, jobs, wall, per, first, rest, scores in rows:
            lines.append(f"| {copies} | {jobs} | {wall:.0f} | {per:.0f} | {first:.0f} | {seconds(rest)} | {', '.join(map(str, sorted(scores)))} |")
        Path(args.markdown).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
