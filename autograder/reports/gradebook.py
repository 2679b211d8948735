"""The class gradebook: one CSV row per submission, updated in place as submissions are graded.

Columns, in order: `submission`, `student`, `score`, `max_score`, one column per lab part (its
id, e.g. `augmentation`, holding the part's score), `profile`, `content_hash`, `execution_time`,
`manifest`. `student` is who handed it in (see `autograder.grading.submissions`); `manifest`
says whether the files match the manifest `course submit` wrote ("verified", "mismatch: ...",
empty without one). A gradebook written before `student` and `manifest` existed still reads.
Rows are sorted by submission name. Writing merges with the existing file: a submission graded
again replaces its row, the other rows stay. A part a submission was not graded on is empty.

Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
a carriage return) are written with a leading `'`, and `read_gradebook` removes it again.
One grading run writes a gradebook at a time: concurrent writers to one file can lose rows.

Example:
    >>> write_gradebook(results, "out/gradebook.csv")  # doctest: +SKIP
    >>> [row.submission for row in read_gradebook("out/gradebook.csv")]  # doctest: +SKIP
    ['alice', 'bob']
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.result import SubmissionResult
from autograder.reports.atomic import atomic_write_text

LEADING_COLUMNS = ("submission", "student", "score", "max_score")
TRAILING_COLUMNS = ("profile", "content_hash", "execution_time", "manifest")
OPTIONAL_COLUMNS = ("student", "manifest")  # absent from gradebooks written by earlier versions
TEXT_COLUMNS = ("submission", "student", "profile", "content_hash", "manifest")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


@dataclass(frozen=True)
class GradebookRow:
    """One submission's line in the gradebook."""

    submission: str
    score: float
    max_score: float
    parts: Mapping[str, float | None] = field(default_factory=dict)
    profile: str = ""
    content_hash: str = ""
    execution_time: float = 0.0
    student: str = ""
    manifest: str = ""

    @classmethod
    def from_result(cls, result: SubmissionResult) -> GradebookRow:
        """The row of a graded submission."""
        return cls(
            submission=result.submission,
            student=result.student,
            manifest=result.manifest,
            score=result.score,
            max_score=result.max_score,
            parts={part.part: part.score for part in result.parts},
            profile=result.profile,
            content_hash=result.content_hash,
            execution_time=round(result.execution_time, 1),
        )


def _protect(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _unprotect(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _cell(value: float | None) -> str:
    return "" if value is None else repr(round(float(value), 4))


def _part_columns(rows: Iterable[GradebookRow]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        for part in row.parts:
            if part in LEADING_COLUMNS or part in TRAILING_COLUMNS:
                raise ValueError(
                    f"Expected part ids other than the gradebook's own columns. Received: part={part!r} "
                    f"in submission {row.submission!r}"
                )
            if part not in columns:
                columns.append(part)
    return columns


def _csv_text(rows: list[GradebookRow], parts: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*LEADING_COLUMNS, *parts, *TRAILING_COLUMNS])
    for row in rows:
        writer.writerow(
            [
                _protect(row.submission),
                _protect(row.student),
                _cell(row.score),
                _cell(row.max_score),
                *(_cell(row.parts.get(part)) for part in parts),
                _protect(row.profile),
                _protect(row.content_hash),
                _cell(row.execution_time),
                _protect(row.manifest),
            ]
        )
    return buffer.getvalue()


def write_gradebook(results: Iterable[SubmissionResult], path: str | os.PathLike, *, merge: bool = True) -> Path:
    """Write (or update) the gradebook CSV at `path`, atomically.

    Args:
        results: graded submissions; a name given twice keeps its last result.
        path: the CSV file; created with its folder when missing.
        merge: keep the rows of an existing file for submissions not in `results` (default).
            With `merge=False` the file holds exactly `results`.

    Returns:
        The path written.

    Raises:
        ValueError: when the existing file is not a gradebook (see `read_gradebook`), or a part
            id collides with a fixed column name.
    """
    path = Path(path)
    existing = read_gradebook(path) if merge and path.exists() else []
    by_name = {row.submission: row for row in existing}
    for result in results:
        by_name[result.submission] = GradebookRow.from_result(result)
    parts = _part_columns([*existing, *by_name.values()])
    rows = [by_name[name] for name in sorted(by_name)]
    return atomic_write_text(path, _csv_text(rows, parts))


def _number(text: str, column: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"Expected a number in column {column!r}. Received: {column}={text!r} at {where}") from None


def read_gradebook(path: str | os.PathLike) -> list[GradebookRow]:
    """Read a gradebook written by `write_gradebook`, in file order.

    Raises:
        ValueError: when the header is not a gradebook's, or a cell is not what its column
            holds; the message names the file and line.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        leading = [c for c in LEADING_COLUMNS if header and (c in header or c not in OPTIONAL_COLUMNS)]
        trailing = [c for c in TRAILING_COLUMNS if header and (c in header or c not in OPTIONAL_COLUMNS)]
        if (
            header is None
            or len(header) < len(leading) + len(trailing)
            or header[: len(leading)] != leading
            or header[len(header) - len(trailing) :] != trailing
            or len(set(header)) != len(header)
        ):
            raise ValueError(
                f"Expected a gradebook header {[*LEADING_COLUMNS, '<parts>...', *TRAILING_COLUMNS]} "
                "with distinct names. "
                f"Received: header={header} in {path}"
            )
        parts = header[len(leading) : len(header) - len(trailing)]
        rows = []
        for cells in reader:
            where = f"{path}:{reader.line_num}"
            if not cells:
                continue
            if len(cells) != len(header):
                raise ValueError(f"Expected {len(header)} cells. Received: cells={len(cells)} at {where}")
            named = dict(zip(header, cells, strict=True))
            rows.append(
                GradebookRow(
                    submission=_unprotect(named["submission"]),
                    student=_unprotect(named.get("student", "")),
                    score=_number(named["score"], "score", where),
                    max_score=_number(named["max_score"], "max_score", where),
                    parts={part: _number(named[part], part, where) if named[part] else None for part in parts},
                    profile=_unprotect(named["profile"]),
                    content_hash=_unprotect(named["content_hash"]),
                    execution_time=_number(named["execution_time"], "execution_time", where),
                    manifest=_unprotect(named.get("manifest", "")),
                )
            )
    return rows
