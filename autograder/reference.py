"""`course reference`: train the reference solution under a profile and report its accuracy."""

from __future__ import annotations

import platform
import time

from rich.console import Console
from rich.text import Text

from autograder.context import CourseContext
from autograder.reports.tables import reference_table
from autograder.terminal import make_console
from autograder.training.pipeline import RunResult
from autograder.training.seeding import quiet_backend_logs


def machine_summary() -> str:
    """One line naming the machine, Python and Keras backend, for benchmark records."""
    import os  # noqa: PLC0415

    import keras  # noqa: PLC0415

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Keras {keras.__version__} ({keras.backend.backend()})"
    )


def main(
    ctx: CourseContext,
    profile_name: str | None = None,
    only: tuple[str, ...] | None = None,
    console: Console | None = None,
    verbose: int = 0,
) -> list[RunResult]:
    """Train the reference lab, printing progress and a table; return the results in order."""
    quiet_backend_logs()
    console = console or make_console()
    profile = ctx.profile(profile_name)
    name = profile_name or ctx.config.default_profile
    definition = ctx.definition()
    runner = definition.reference_runner(
        ctx.reference_modules("reference"), profile, ctx.split_loader(profile), ctx.weights_file(profile), verbose=verbose
    )
    results: list[RunResult] = []
    start = time.perf_counter()
    with console.status("Training the reference solution") as status:
        for result in runner.run_all(
            only, progress=lambda step: status.update(Text(f"Training: {definition.label(step)} ({name} profile)"))
        ):
            results.append(result)
            console.print(f"  {definition.label(result.name):42s} accuracy {result.accuracy:.3f}  ({result.seconds:.0f} s)")
    total = time.perf_counter() - start
    console.print(reference_table(results, f"Reference solution, profile {name!r}: {total:.0f} s in all", definition))
    console.print(f"Machine: {machine_summary()}")
    return results
