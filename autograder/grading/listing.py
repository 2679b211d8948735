"""`course checks`: the lab's checks with what each is worth, or every name a check may ask for."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autograder.context import CourseContext
from autograder.terminal import make_console


def checks_table(ctx: CourseContext, public: bool = False) -> Table:
    """Part, check, points, visibility and the names it asks for, with each part's total."""
    from autograder.grading.lab_checks import collect_checks  # noqa: PLC0415

    folder = (ctx.release_dir if public else ctx.solutions_dir) / "checks"
    checks = collect_checks(folder, ctx.config, complete=not public)
    table = Table(title=f"{'Public' if public else 'All'} checks of {folder}")
    for column in ("Part", "Check", "Points", "Visibility", "Asks for"):
        table.add_column(column, overflow="fold")
    for part, settings in ctx.config.parts.items():
        mine = [c for c in checks if c.meta.part == part]
        for check in mine:
            table.add_row(part, check.meta.name, f"{check.course_points:g}", check.meta.visibility, ", ".join(check.parameters))
        total = sum(c.course_points for c in mine)
        table.add_row(part, Text("total", style="bold"), Text.assemble((f"{total:g}", "bold"), f" / {settings.points:g}"), "", "", end_section=True)
    return table


def fixtures_table(ctx: CourseContext) -> Table:
    """Every name a check may ask for: its part, where the grader gets it, its type, who uses it."""
    from autograder.grading.fixtures import fixture_catalogue  # noqa: PLC0415
    from autograder.grading.lab_checks import collect_checks  # noqa: PLC0415
    from autograder.probes.declare import PROBES_FILE, LabProbes  # noqa: PLC0415

    used: dict[str, int] = {}
    for check in collect_checks(ctx.solutions_dir / "checks", ctx.config):
        for name in check.parameters:
            used[name] = used.get(name, 0) + 1
    table = Table(title="Names a check may ask for (its parameters)")
    for column in ("Name", "Part", "From", "Type", "Checks using it"):
        table.add_column(column, overflow="fold")
    for item in fixture_catalogue(LabProbes.read(ctx.solutions_dir / PROBES_FILE), ctx.definition()):
        table.add_row(item.name, item.part or "(every part)", item.source, item.kind, str(used.get(item.name, 0)))
    return table


def main(ctx: CourseContext, fixtures: bool, public: bool, console: Console | None = None) -> None:
    console = console or make_console()
    console.print(fixtures_table(ctx) if fixtures else checks_table(ctx, public))
