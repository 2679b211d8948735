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
from rich.text import Text

from autograder.context import CourseContext
from autograder.grading.result import SubmissionResult
from autograder.grading.runner import Grader
from autograder.terminal import make_console


def points(value: float) -> str:
    """Points for people: at most two decimals, no trailing zeros (2.67, 4, 0.5)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def why_not_column(result: SubmissionResult) -> list[str]:
    """Each check's "why not": the message the first time a cause appears, then a pointer to it.

    One missing line often fails several checks with the same error (a stub, or a function that
    the others call); its message is shown once and the other rows say which check it is under.
    """
    shown: dict[str, str] = {}
    column = []
    for part in result.parts:
        for check in part.checks:
            if check.ok:
                column.append("")
                continue
            cause = check.message.strip()
            if cause in shown:
                column.append(f"the same cause as `{shown[cause]}` above: {_first_line(cause)[:100]}")
            else:
                shown[cause] = check.name
                column.append(cause)
    return column


def as_json(result: SubmissionResult, total: float) -> dict:
    """`course check --json`: the public checks' points, each check, and what they are worth."""
    return {
        "score": round(result.score, 4),
        "max_score": round(result.max_score, 4),
        "grade_points": total,
        "checks": [
            {"part": part.part, "name": c.name, "score": round(c.score, 4), "max_score": round(c.max_score, 4), "message": c.message}
            for part in result.parts for c in part.checks
        ],
    }


def main(
    ctx: CourseContext, folder: Path, profile: str = "smoke", console: Console | None = None, quiet: bool = False
) -> SubmissionResult:
    """Run the public checks of the release on `folder`; print what passes and why not (unless `quiet`)."""
    console = console or make_console()
    checks = ctx.release_dir / "checks"
    if not checks.is_dir():
        raise FileNotFoundError(f"Expected the public checks in {checks}. Received: no such folder (run `course release`)")
    total = ctx.config.total_points
    # Progress shows on a terminal as a spinner; elsewhere (CI logs, notebooks) as a line per check.
    progress = None if quiet or console.is_terminal else make_console(file=console.file, log_path=False, width=console.width)
    grader = Grader(ctx, profile, checks, console=progress, public=True)
    if not quiet:
        console.print(f"Running the public checks on {folder} (profile {profile!r}); a minute or so.", highlight=False)
    if quiet or not console.is_terminal:
        result = grader.grade(Path(folder))
    else:
        with console.status(Text(f"Running the public checks on {folder} (profile {profile!r})")):  # a str would be markup
            result = grader.grade(Path(folder))
    if quiet:
        return result
    table = Table(title=f"Public checks of {folder}")
    for column in ("Part", "Check", "Points", "Why not"):
        table.add_column(column, overflow="fold")
    reasons = iter(why_not_column(result))
    for part in result.parts:
        for check in part.checks:
            table.add_row(part.part, check.name, f"{points(check.score)} / {points(check.max_score)}", next(reasons))
    console.print(table)
    isolation = {p.sandbox.isolation for p in result.parts if p.sandbox and p.sandbox.isolation != "none"}
    console.print(
        f"{points(result.score)} of the {points(result.max_score)} points checked here "
        f"({points(result.max_score)} of the grade's {points(total)} points are checked here; the rest are hidden: "
        "hidden checks, and accuracy after the grader trains your models on images you never see)."
    )
    if isolation:
        console.print(f"Sandbox: {', '.join(sorted(isolation))}.")
    if "plain" in isolation:
        console.print("No strong sandbox here (bubblewrap missing): your code ran in a plain subprocess with limits.", style="yellow")
    return result
