"""What `course grade` prints: a score table for the terminal, or JSON with `--json`.

Both are for the TA running the grader, not for students: the JSON carries every check's
message, hidden ones included, and says each check's visibility so a consumer can filter.

Example:
    >>> rich.print(scores_table(results))  # doctest: +SKIP
    >>> print(results_as_json(results, files={"alice": {"feedback": "out/alice/feedback.md"}}))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from autograder.grading.result import PartResult, SubmissionResult

JSON_VERSION = 1


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def _style(score: float, max_score: float) -> str:
    if max_score > 0 and score >= max_score - 1e-9:
        return "green"
    return "yellow" if score > 0 else "red"


def _part_cell(part: PartResult | None) -> Text:
    if part is None:
        return Text("-", style="dim")
    cell = Text(f"{_points(part.score)} / {_points(part.max_score)}", style=_style(part.score, part.max_score))
    if part.sandbox is not None and part.sandbox.outcome != "ok":
        cell.append(f" ({part.sandbox.outcome})", style="bold red")
    return cell


def _sorted(results: Iterable[SubmissionResult]) -> list[SubmissionResult]:
    return sorted(results, key=lambda result: result.submission)


def scores_table(results: Iterable[SubmissionResult], title: str = "Scores") -> Table:
    """A rich table of scores: one row per submission (sorted by name), a column per part, the total.

    A part whose worker did not end normally shows its outcome ("timeout", "crashed", ...) next
    to the score; a part a submission was not graded on shows "-". The caption gives the number
    of submissions and the mean total.
    """
    results = _sorted(results)
    titles: dict[str, str] = {}
    for result in results:
        for part in result.parts:
            titles.setdefault(part.part, part.title)
    table = Table(title=title)
    table.add_column("Submission", no_wrap=True)
    for part_title in titles.values():
        table.add_column(Text(part_title), justify="right")
    table.add_column("Total", justify="right")
    for result in results:
        parts = {part.part: part for part in result.parts}
        total = Text(f"{_points(result.score)} / {_points(result.max_score)}", style="bold")
        table.add_row(Text(result.submission), *(_part_cell(parts.get(part)) for part in titles), total)
    if results:
        mean = sum(result.score for result in results) / len(results)
        table.caption = f"{len(results)} submission(s), mean total {_points(mean)}"
    else:
        table.caption = "No submissions."
    return table


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _result_dict(result: SubmissionResult, files: Mapping[str, str | os.PathLike]) -> dict[str, Any]:
    return {
        "submission": result.submission,
        "score": result.score,
        "max_score": result.max_score,
        "profile": result.profile,
        "content_hash": result.content_hash,
        "execution_time": _finite(round(result.execution_time, 1)),
        "parts": [
            {
                "part": part.part,
                "title": part.title,
                "score": part.score,
                "max_score": part.max_score,
                "worker": None
                if part.sandbox is None
                else {
                    "outcome": part.sandbox.outcome,
                    "seconds": _finite(part.sandbox.seconds),
                    "isolation": part.sandbox.isolation,
                    "message": part.sandbox.message,
                },
                "checks": [
                    {
                        "name": check.name,
                        "score": check.score,
                        "max_score": check.max_score,
                        "passed": check.ok,
                        "visibility": check.visibility,
                        "message": check.message,
                    }
                    for check in part.checks
                ],
            }
            for part in result.parts
        ],
        "models": [{"name": curve.name, "accuracy": _finite(curve.accuracy)} for curve in result.curves],
        "notes": list(result.notes),
        "files": {role: os.fspath(path) for role, path in files.items()},
    }


def results_as_json(
    results: Iterable[SubmissionResult],
    files: Mapping[str, Mapping[str, str | os.PathLike]] | None = None,
) -> str:
    """The graded submissions as JSON, for `course grade --json` and scripts that read it.

    The document is `{"version": 1, "count": N, "submissions": [...]}`, submissions sorted by
    name, each with its total, parts (score, max, how its worker ended, and its checks with
    score, max, passed, visibility and message), the models the grader trained (name and
    hidden-test accuracy), notes, and `files`: the reports written for it.

    Args:
        results: graded submissions.
        files: per submission name, the paths written for it by role, e.g.
            `{"alice": {"results_json": "out/alice/results.json", "feedback": ".../feedback.md"}}`.

    Returns:
        Indented JSON text (non-finite numbers become null).

    Raises:
        ValueError: when `files` names a submission that is not in `results`.
    """
    results = _sorted(results)
    files = dict(files or {})
    unknown = sorted(set(files) - {result.submission for result in results})
    if unknown:
        raise ValueError(f"Expected files only for graded submissions. Received: submissions={unknown}")
    document = {
        "version": JSON_VERSION,
        "count": len(results),
        "submissions": [_result_dict(result, files.get(result.submission, {})) for result in results],
    }
    return json.dumps(document, indent=2, allow_nan=False)
