"""Benchmark: the transfer-learning mistake catalogue graded on another Keras backend (issue #13).

Each mutant of `tests/grading/test_mutants.py` (the reference with one realistic mistake) is graded
on its own part, without the accuracy checks its mistake may lower, in a child process on the
chosen backend, by the engine's own `Grader` (the script of `tests/labs/test_backends_transfer.py`).
The table says, per mutant, whether it loses every check it must lose and nothing else: the verdict
`tests/grading/test_mutants.py` asserts on TensorFlow. CI runs the four backend-sensitive mutants on
JAX; this runs all of them, on JAX or PyTorch.

    python benchmarks/backend_catalogue.py --backend jax --profile ci --data-dir ../shared/data \
        --weights-dir ../shared/weights/keras --markdown /tmp/catalogue-jax.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.reference import machine_summary  # noqa: E402
from tests.grading.test_mutants import MUTANTS  # noqa: E402
from tests.labs.test_backends_transfer import SCRIPT, mutant_plan  # noqa: E402

from _options import course_context, course_options  # noqa: E402  (benchmarks/_options.py)


def verdict(mutant, checks: dict) -> tuple[list[str], list[str], bool]:
    """(intended checks lost, other checks lost, the TensorFlow verdict holds)."""
    lost = sorted(name for name, (score, top) in checks.items() if score < top - 1e-9)
    intended = [i for i in mutant.intended if any(name.startswith(i) for name in lost)]
    others = [name for name in lost if not name.startswith(mutant.intended)]
    return intended, others, len(intended) == len(mutant.intended) and not others


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="jax", choices=("jax", "torch", "tensorflow"))
    parser.add_argument("--only", nargs="*", help="mutant names (default: the whole catalogue)")
    course_options(parser, profile="ci")
    args = parser.parse_args()
    args.lab = args.lab or "transfer_learning"
    os.environ["KERAS_BACKEND"] = args.backend  # before Keras loads here too: the table names this backend
    console = Console()
    ctx = course_context(args)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    with tempfile.TemporaryDirectory(prefix="catalogue-") as scratch:
        root = Path(scratch)
        plan = mutant_plan(mutants, ctx.solutions_dir, root)
        loc, out = ctx.locations, root / "results.json"
        command = [sys.executable, "-c", SCRIPT, str(ctx.config_path), str(loc.data_dir), str(loc.weights_dir),
                   str(loc.cache_dir), args.profile, json.dumps(plan), str(out)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        start, done = time.perf_counter(), 0
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as child:
            for line in child.stdout:  # "<mutant> graded" after each
                done += 1
                console.log(f"{done}/{len(mutants)} {line.split()[0]} ({time.perf_counter() - start:.0f} s)")
        seconds = time.perf_counter() - start
        if child.returncode != 0 or not out.is_file():
            sys.exit(f"The {args.backend} grading failed (exit {child.returncode}); run the child's command by hand to see why")
        results = json.loads(out.read_text())

    rows, held = [], 0
    for mutant in mutants:
        result = results[mutant.name]
        intended, others, ok = verdict(mutant, result["checks"])
        held += ok
        rows.append((mutant.name, mutant.part, f"{len(intended)}/{len(mutant.intended)}", ", ".join(others) or "-", "yes" if ok else "NO"))
    heading = ("Mutant", "Part", "Intended checks lost", "Other checks lost", "As on TensorFlow")
    table = Table(title=f"The mistake catalogue on {args.backend}, profile {args.profile!r}")
    for name in heading:
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    summary = f"{held} of {len(mutants)} mutants give TensorFlow's verdict on {args.backend}; {seconds:.0f} s in all ({seconds / len(mutants):.0f} s a mutant)"
    console.print(summary)
    if args.markdown:
        lines = [f"Profile `{args.profile}`, backend {args.backend}, {datetime.date.today()}, {machine_summary()}.", "",
                 "| " + " | ".join(heading) + " |", "|" + "---|" * len(heading)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        Path(args.markdown).write_text("\n".join([*lines, "", summary, ""]), encoding="utf-8")


if __name__ == "__main__":
    main()
