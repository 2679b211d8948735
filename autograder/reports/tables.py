"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from autograder.training.pipeline import RunResult


def reference_table(results: Iterable[RunResult], title: str, definition) -> Table:
    """One row per trained run: accuracy on the hidden test split, time, published number (the lab's `RUNS`)."""
    table = Table(title=title)
    table.add_column("Run")
    table.add_column("Hidden-test accuracy", justify="right")
    table.add_column("Time (s)", justify="right")
    table.add_column("Published", justify="right")
    table.add_column("Source of the published number")
    runs = {run.name: run for run in definition.runs}
    for result in results:
        run = runs.get(result.name)
        table.add_row(
            run.label if run else result.name, f"{result.accuracy:.3f}", f"{result.seconds:.1f}",
            run.published if run else "-", run.source if run else "",
        )
    return table
