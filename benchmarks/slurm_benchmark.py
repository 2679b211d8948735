"""Benchmark: the same batch graded by `course grade --jobs J` and by `course slurm grade` on this machine.

Starts a real single-node Slurm (tests/cluster/single_node.py: Debian's slurm-wlm and munge, as
root), grades N copies of the reference solution both ways on one profile, checks that the two
gradebooks agree, and prints a table: wall time of each, the engine's overhead on Slurm
(submitting, scheduling, each task starting Python and Keras, gathering), and a projection for
a class on N nodes like this one from the measured time per submission. The grader's cached
inputs are built before both runs, so neither pays for them.

    sudo .venv/bin/python benchmarks/slurm_benchmark.py --copies 8 --profile smoke \
        --data-dir ../shared/data --weights-dir ../shared/weights/keras --markdown /tmp/slurm.md
"""

from __future__ import annotations

import argparse
import csv
import datetime
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.grading.inputs import prepare_inputs  # noqa: E402
from autograder.reference import machine_summary  # noqa: E402
from benchmarks.grading_benchmark import make_copies  # noqa: E402
from tests.cluster.single_node import start  # noqa: E402

from _options import course_context, course_options  # noqa: E402  (benchmarks/_options.py)


def course(args: list[str], env: dict) -> float:
    began = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "autograder.cli", *args], env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"`course {' '.join(args[:2])}` failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return time.monotonic() - began


def scores(gradebook: Path) -> dict[str, tuple]:
    with gradebook.open() as f:
        return {r["submission"]: tuple(v for k, v in r.items() if k not in ("execution_time",)) for r in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2, help="local `course grade --jobs`; Slurm runs as many 1-core tasks")
    parser.add_argument("--class-size", type=int, default=300)
    parser.add_argument("--mem-gb", type=int, default=8, help="memory per Slurm task")
    course_options(parser, profile="smoke")
    args = parser.parse_args()
    console = Console()
    ctx = course_context(args)
    prepare_inputs(ctx, args.profile, console=console)
    loc = ctx.locations
    flags = ["--lab", ctx.lab, "--profile", args.profile, "--config", str(ctx.config_path), "--data-dir", str(loc.data_dir),
             "--weights-dir", str(loc.weights_dir), "--cache-dir", str(loc.cache_dir)]
    with tempfile.TemporaryDirectory(prefix="slurm-bench-") as scratch:
        root = Path(scratch)
        batch = make_copies(ctx, root, args.copies)
        cluster = start(root / "cluster")
        try:
            env = {**cluster.env, "TF_CPP_MIN_LOG_LEVEL": "3"}
            console.print(f"Grading {args.copies} submissions with `course grade --jobs {args.jobs}` ...")
            local = course(["grade", str(batch), "--out", str(root / "local"), "--jobs", str(args.jobs), *flags], env)
            console.print(f"Grading them with `course slurm grade` ({args.jobs} shards of one core each) ...")
            slurm = course(["slurm", "grade", str(batch), "--out", str(root / "slurm"), "--shards", str(args.jobs), "--cpus-per-task", "1",
                            "--mem-gb", str(args.mem_gb), "--poll-seconds", "2", *flags], env)
        finally:
            cluster.stop()
        same = scores(root / "local" / "gradebook.csv") == scores(root / "slurm" / "gradebook.csv")
    per_submission = local * args.jobs / args.copies  # one core-slot's time per submission
    table = Table(title=f"Profile {args.profile!r}, lab {ctx.lab}, {args.copies} submissions, {datetime.date.today()}, {machine_summary()}")
    for column in ("Run", "Wall (s)", "Per submission (s)", "Gradebook"):
        table.add_column(column)
    table.add_row(f"course grade --jobs {args.jobs}", f"{local:.0f}", f"{local / args.copies:.1f}", "-")
    table.add_row(f"course slurm grade ({args.jobs} tasks x 1 core)", f"{slurm:.0f}", f"{slurm / args.copies:.1f}",
                  "same as local" if same else "DIFFERS")
    table.add_row("Slurm's overhead", f"{slurm - local:+.0f}", f"{(slurm - local) / args.copies:+.1f}", "")
    console.print(table)
    overhead = max(slurm - local, 0.0)
    projection = Table(title=f"Projection: {args.class_size} submissions on N nodes like this one ({os.cpu_count()} cores, "
                             f"{args.jobs} gradings at a time), {per_submission:.0f} s per submission per slot")
    for column in ("Nodes", "Tasks", "Wall (min)"):
        projection.add_column(column)
    for nodes in (1, 4, 16, 64):
        slots = nodes * args.jobs
        minutes = (math.ceil(args.class_size / slots) * per_submission + overhead) / 60
        projection.add_row(str(nodes), str(slots), f"{minutes:.0f}")
    console.print(projection)
    if args.markdown:
        with open(args.markdown, "w") as handle:
            out = Console(file=handle, width=160)
            out.print(table)
            out.print(projection)
    if not same:
        raise SystemExit("The Slurm gradebook differs from the local one")


if __name__ == "__main__":
    main()
