"""Benchmark: what grading one submission needs (wall time and peak memory), for a platform's machine.

Grades the reference solution once with `course grade` in a child process, after the grader's
inputs are prepared (as Gradescope's `setup.sh` prepares them once), sampling the resident
memory of the whole process tree (the grader, its grading children and the sandboxed workers)
every 0.2 s. Writes `solutions/<lab>/resources/<profile>.json`, which `course export gradescope`
prints as the machine to choose, and prints a table.

    python benchmarks/grading_resources.py --lab transfer_learning --profile smoke \
        --data-dir ../shared/data --weights-dir ../shared/weights/keras
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time

import psutil
from rich.console import Console
from rich.table import Table

from autograder.export.resources import RESOURCES, Resources
from autograder.reference import machine_summary

from _options import course_context, course_options  # benchmarks/_options.py


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (those that vanish mid-read count 0)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def grade_once(argv: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak tree RSS in bytes, exit status) of one `course grade` run."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, tree_rss(process))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    stderr = child.stderr.read() if child.stderr else ""
    if child.returncode != 0:
        print(stderr[-3000:], file=sys.stderr)
    return time.perf_counter() - start, peak, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    course_options(parser, profile="smoke", markdown="")
    args = parser.parse_args()

    ctx = course_context(args)
    flags = ["--lab", ctx.lab, "--profile", args.profile, "--config", str(ctx.config_path)]
    for name in ("data_dir", "weights_dir", "cache_dir"):
        value = getattr(ctx.locations, name)
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    course = [sys.executable, "-m", "autograder.cli", "grade", str(ctx.solutions_dir), *flags]
    with tempfile.TemporaryDirectory(prefix="resources-") as tmp:
        warm = grade_once([*course, "--out", f"{tmp}/warm"])  # prepares the inputs (setup.sh's job)
        seconds, peak, status = grade_once([*course, "--out", f"{tmp}/measured", "--force"])
    if status not in (0,):
        raise SystemExit(f"course grade exited {status}: nothing recorded")
    resources = Resources(
        profile=args.profile, seconds=round(seconds, 1), peak_gib=round(peak / 2**30, 2),
        machine=machine_summary(), date=datetime.date.today().isoformat(),
    )
    path = ctx.solutions_dir / RESOURCES / f"{args.profile}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(resources.__dict__, indent=1) + "\n", encoding="utf-8")

    table = Table(title=f"Grading one submission of {ctx.lab} on {args.profile!r} ({resources.machine}, {resources.date})")
    for column in ("run", "wall time (s)", "peak memory (GiB)"):
        table.add_column(column)
    table.add_row("first (prepares the grader's inputs)", f"{warm[0]:.1f}", f"{warm[1] / 2**30:.2f}")
    table.add_row("a submission (inputs prepared)", f"{seconds:.1f}", f"{peak / 2**30:.2f}")
    console = Console()
    console.print(table)
    console.print(resources.advice())
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
