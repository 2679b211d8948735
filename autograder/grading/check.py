"""`course check`: a student's own run of the public checks on their working copy (smoke profile).

Same engine as `course grade`, with the release's public checks only, on inputs made by grader
code and against the release's reference snapshot: it needs neither `solutions/` nor the hidden
split nor the dataset, only the pretrained weights. Where no strong sandbox
exists (a laptop without bubblewrap), the code runs in a plain subprocess with limits, and the
report says so.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.context import CourseContext
from autograder.grading.result import SubmissionResult
from autograder.grading.runner import Grader


def main(ctx: CourseContext, folder: Path, profile: str = "smoke", console: Console | None = None) -> SubmissionResult:
    """Run the public checks of the release on `folder`; print what passes and why not."""
    console = console or Console()
    checks = ctx.release_dir / "checks"
    if not checks.is_dir():
        raise FileNotFoundError(f"Expected the public checks in {checks}. Received: no such folder (run `course release`)")
    grader = Grader(ctx, profile, checks, console=None, public=True)
    with console.status(f"Running the public checks on {folder} (profile {profile!r})"):
        result = grader.grade(Path(folder))
    table = Table(title=f"Public checks of {folder}")
    for column in ("Part", "Check", "Score", "Why not"):
        table.add_column(column, overflow="fold")
    for part in result.parts:
        for check in part.checks:
            table.add_row(part.part, check.name, f"{check.score:g} / {check.max_score:g}", "" if check.ok else check.message)
    console.print(table)
    isolation = {p.sandbox.isolation for p in result.parts if p.sandbox}
    total = ctx.config.total_points
    console.print(f"{result.score:g} / {result.max_score:g} on the public checks; sandbox: {', '.join(sorted(isolation))}.")
    console.print(
        f"They are worth {result.max_score:g} of the grade's {total:g} points, as they count in the grade; the other "
        f"{total - result.max_score:g} come from hidden checks and from the grader training your models."
    )
    if "plain" in isolation:
        console.print("[yellow]No strong sandbox here (bubblewrap missing): your code ran in a plain subprocess with limits.[/]")
    console.print("The grader trains your models itself and measures them on images you never see.")
    return result
