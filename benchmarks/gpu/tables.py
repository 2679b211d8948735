"""The submissions `benchmarks/gpu/run.sh` grades, and the tables it writes from what it measured.

    python benchmarks/gpu/tables.py submissions DIR      # the reference and two mutants, as hand-ins
    python benchmarks/gpu/tables.py report --calibration F --gradebook G [--memory M] [--seconds S] --out T

The goals are issue #13's accuracies on the hidden split for the `gpu` profile.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

LAB = "transfer_learning"
GOALS = {  # run -> (what it is, the least mean accuracy on the hidden split)
    "scratch_augmented": ("scratch convnet with augmentation (Chollet's 100-epoch run)", 0.82),
    "frozen_base": ("frozen base + head", 0.96),
    "fine_tuned": ("fine-tuned", 0.97),
}
MUTANTS = ("base_not_frozen", "fine_tuning_rate_too_high")  # from tests/grading/test_mutants.py


def make_submissions(folder: Path) -> list[str]:
    """`folder/reference` (the solutions' modules) and one folder per mutant in MUTANTS."""
    from tests.grading.test_mutants import MUTANTS as CATALOGUE  # noqa: PLC0415

    solutions = REPO / "solutions" / LAB
    ignore = shutil.ignore_patterns("checks", "calibration", "resources", "__pycache__")
    shutil.copytree(solutions, folder / "reference", ignore=ignore)
    for mutant in (m for m in CATALOGUE if m.name in MUTANTS):
        try:
            mutant.apply(folder / "reference", folder / mutant.name)
        except ValueError as exc:
            sys.exit(f"error: {exc}")
    return ["reference", *MUTANTS]


def peak_memory_mib(path: Path | None) -> str:
    """The largest `memory.used` (MiB) in an `nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits` log."""
    if path is None or not path.is_file():
        return "not measured (no nvidia-smi)"
    values = [float(v) for line in path.read_text().splitlines() for v in line.split(",") if v.strip().replace(".", "").isdigit()]
    return f"{max(values):,.0f} MiB" if values else "not measured (empty log)"


def report(calibration: Path, gradebook: Path, memory: Path | None, seconds: dict[str, float]) -> str:
    data = json.loads(calibration.read_text())
    lines = [
        f"Profile `{data['profile']}` ({calibration.name}), backend {data['backend']}, {data['hardware']}, {data['date']}.",
        "",
        "| Run | Seeds' hidden-split accuracies | Mean | Goal | Met | Threshold |",
        "|---|---|---:|---:|---|---:|",
    ]
    for run, values in data["thresholds"].items():
        label, goal = GOALS.get(run, (run, None))
        met = "" if goal is None else ("yes" if values["mean"] >= goal else "NO")
        accuracies = ", ".join(f"{a:.3f}" for a in values["accuracies"])
        goal_text = "" if goal is None else f"{goal:.2f}"
        lines.append(f"| {label} | {accuracies} | {values['mean']:.3f} | {goal_text} | {met} | {values['threshold']:.3f} |")
    with gradebook.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines += ["", "| Submission | Score | Time (s) |", "|---|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['submission']} | {float(row['score']):.1f} / {float(row['max_score']):.0f} | {float(row['execution_time']):.0f} |")
    lines += ["", f"Peak GPU memory (all processes): {peak_memory_mib(memory)}."]
    lines += [f"Wall time, {step}: {value:.0f} s." for step, value in seconds.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("submissions")
    make.add_argument("folder", type=Path)
    tables = sub.add_parser("report")
    tables.add_argument("--calibration", type=Path, required=True)
    tables.add_argument("--gradebook", type=Path, required=True)
    tables.add_argument("--memory", type=Path)
    tables.add_argument("--seconds", action="append", default=[], metavar="STEP=S", help="a step's wall time")
    tables.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "submissions":
        print(" ".join(make_submissions(args.folder)))
        return 0
    seconds = {k: float(v) for k, v in (item.split("=", 1) for item in args.seconds)}
    text = report(args.calibration, args.gradebook, args.memory, seconds)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
