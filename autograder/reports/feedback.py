"""A student's feedback: `feedback.md` with the score of every check, and plots of the grader's runs.

The folder written for one submission holds:
    feedback.md               total, one table of checks per part, notes, the trained models
    curves-<model>.png        accuracy and loss per epoch, training vs validation
    confusion-<model>.png     cat/dog confusion matrix on the hidden test split

`<model>` is the training curve's name made file-safe (lower case, dashes), so names are the
same on every run. Images are linked from the markdown by relative paths, so the folder can be
moved or zipped whole.

Checks whose visibility is "hidden" (by default) show only their name and score: their message
could reveal the hidden test.

Student-controlled text is a narrow channel: a failed check's message can carry the student's
exception text, which a submission could fill with whatever it read. Every student-facing output
(this file, Gradescope's `results.json`, the notebook exports' reports) shows it through
`student_text`: the message's first line and the student's own frames (`models.py, line 12, in
build_model`), never the grader's paths or frames, capped at `STUDENT_TEXT_LIMIT`
characters. `student_view` applies it to a whole result.

Example:
    >>> write_feedback(result, "out/feedback/alice")  # doctest: +SKIP
    PosixPath('out/feedback/alice/feedback.md')
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Collection
from pathlib import Path

from autograder.checks.result import CheckResult
from autograder.grading.result import PartResult, SubmissionResult, TrainingCurve
from autograder.reports import plots
from autograder.reports.atomic import atomic_write_text

FEEDBACK_FILE = "feedback.md"
HIDDEN_NOTE = "*Hidden check: details are not shown.*"
# Markdown specials, and "_" except inside a word ("max_score" stays readable, "__init__" is escaped).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


# The most characters of student-controlled text any student-facing output carries per message.
STUDENT_TEXT_LIMIT = 300
NAME_LIMIT = 80
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]*)", line (?P<line>\d+), in (?P<func>\S+)')
# An absolute path (the grader's scratch folders, site-packages): only its last component is shown.
_PATH = re.compile(r"(?:/[^/\s\"'(),:;]+){2,}/?")
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(: .*)?$")
_GRADER_FILES = re.compile(r"(/autograder/|/site-packages/|/dist-packages/|/lib/python\d|^<)")


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def student_text(message: str, limit: int = STUDENT_TEXT_LIMIT) -> str:
    """What a student may read of a message that can hold their code's text.

    Keeps the message's lines up to any traceback (the grader's sentence with the exception type
    and message) and, from the traceback, only the last frame in the student's own files (as
    `file.py, line N, in f`); the grader's frames, code lines and absolute paths are dropped.
    At most `limit` characters.
    """
    kept, frames, raised, in_traceback = [], [], None, False
    for line in str(message).splitlines():
        frame = _FRAME.match(line)
        if frame or line.strip() in ("Traceback (most recent call last):", "[...]"):
            in_traceback = True
        if frame and not _GRADER_FILES.search(frame["path"]):
            frames.append(f"{frame['path'].rsplit('/', 1)[-1]}, line {frame['line']}, in {frame['func']}")
        elif not in_traceback and line.strip():
            kept.append(line.rstrip())
        elif in_traceback and _RAISED.match(line):
            raised = line.rstrip()  # the exception line that ends a whole traceback
    if raised and raised.split(":", 1)[0] not in "\n".join(kept):
        kept.append(raised)
    head = _PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], "\n".join(kept))
    if frames:
        where = f" (at {frames[-1]})"
        return _cap(_cap(head, max(0, limit - len(where))) + where, limit)
    return _cap(head, limit)


def student_view(result: SubmissionResult) -> SubmissionResult:
    """A copy of `result` whose every check message, worker message and note is `student_text`.

    The worker's output tail (the student's stderr) is dropped. Hidden checks keep their capped
    message: Gradescope shows hidden tests to the course staff only, and `feedback.md` withholds it.
    """
    parts = []
    for part in result.parts:
        sandbox = part.sandbox
        if sandbox is not None:
            sandbox = dataclasses.replace(sandbox, message=student_text(sandbox.message), output_tail="")
        checks = [dataclasses.replace(check, message=student_text(check.message)) for check in part.checks]
        parts.append(dataclasses.replace(part, checks=checks, sandbox=sandbox))
    return dataclasses.replace(
        result,
        submission=_cap(result.submission, NAME_LIMIT),
        parts=parts,
        notes=[student_text(note) for note in result.notes],
    )


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def _escape(text: str) -> str:
    """Text as literal markdown inside a table cell or a line: specials escaped, lines joined."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text.strip())
    return "<br>".join(line.strip() for line in escaped.splitlines() if line.strip())


def slug(name: str) -> str:
    """A file-safe form of a name: lower case letters, digits and single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"


def image_names(curves: list[TrainingCurve]) -> list[str]:
    """One distinct, stable file stem per curve ("baseline", "fine-tuned", "baseline-2", ...)."""
    stems: list[str] = []
    for curve in curves:
        stem, counter = slug(curve.name), 2
        while stem in stems:
            stem, counter = f"{slug(curve.name)}-{counter}", counter + 1
        stems.append(stem)
    return stems


def _status(check: CheckResult) -> str:
    if check.ok:
        return "passed"
    return "partial" if check.score > 0 else "failed"


def _part_section(number: int, part: PartResult, hidden: Collection[str]) -> list[str]:
    lines = [f"## Part {number}: {_escape(part.title)} ({_points(part.score)} / {_points(part.max_score)} points)", ""]
    sandbox = part.sandbox
    if sandbox is not None and sandbox.outcome != "ok":
        detail = f" {_escape(sandbox.message)}" if sandbox.message else ""
        lines += [
            f"> **Your code for this part did not finish normally** ({_escape(sandbox.outcome)} after "
            f"{sandbox.seconds:.1f} s).{detail}",
            "",
        ]
    if not part.checks:
        return lines + ["No checks were run for this part.", ""]
    lines += ["| Check | Score | Result | What to fix |", "| --- | ---: | --- | --- |"]
    for check in part.checks:
        if check.visibility in hidden:
            message = HIDDEN_NOTE if not check.ok else ""
        else:
            message = "" if check.ok else _escape(check.message)
        score = f"{_points(check.score)} / {_points(check.max_score)}"
        lines.append(f"| {_escape(check.name)} | {score} | {_status(check)} | {message} |")
    return lines + [""]


def _curve_section(curve: TrainingCurve, stem: str, folder: Path) -> list[str]:
    lines = [f"### {_escape(curve.name)}", "", f"Accuracy on the hidden test split: **{curve.accuracy:.3f}**", ""]
    if plots.has_history(curve):
        name = f"curves-{stem}.png"
        plots.save_png(plots.training_curves_figure(curve), folder / name)
        lines += [f"![Training and validation curves of {_escape(curve.name)}]({name})", ""]
    else:
        lines += ["No training history was recorded for this model.", ""]
    if plots.has_predictions(curve):
        problem = plots.predictions_problem(curve)
        if problem:
            lines += [f"Confusion matrix not drawn: {_escape(problem)}", ""]
        else:
            name = f"confusion-{stem}.png"
            plots.save_png(plots.confusion_matrix_figure(curve), folder / name)
            shown = f" ({'/'.join(curve.classes)})" if curve.classes and len(curve.classes) <= 4 else ""
            lines += [f"![Confusion matrix of {_escape(curve.name)}{_escape(shown)}]({name})", ""]
    return lines


def feedback_markdown(
    result: SubmissionResult, folder: str | os.PathLike, hidden_visibilities: Collection[str] = ("hidden",)
) -> str:
    """Render the feedback for `result`, writing its plots into `folder`; returns the markdown.

    Args:
        result: what grading concluded about one submission.
        folder: where the plots go (created if missing); the markdown links to them relatively.
        hidden_visibilities: visibilities whose check messages are withheld.
    """
    folder = Path(folder)
    result = student_view(result)
    lines = [
        f"# Feedback for {_escape(result.submission)}",
        "",
        f"**Total: {_points(result.score)} / {_points(result.max_score)} points** "
        f"(profile `{result.profile}`, submission `{result.content_hash}`)",
        "",
    ]
    for number, part in enumerate(result.parts, start=1):
        lines += _part_section(number, part, hidden_visibilities)
    if result.notes:
        lines += ["## Notes", ""] + [f"- {_escape(note)}" for note in result.notes] + [""]
    if result.curves:
        lines += ["## Models trained by the grader", ""]
        for curve, stem in zip(result.curves, image_names(result.curves), strict=True):
            lines += _curve_section(curve, stem, folder)
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(
    result: SubmissionResult, folder: str | os.PathLike, hidden_visibilities: Collection[str] = ("hidden",)
) -> Path:
    """Write `feedback.md` and its plots for one submission into `folder`.

    Args:
        result: what grading concluded about one submission.
        folder: the submission's feedback folder (created if missing). Files of an earlier run
            with the same names are replaced; other files are left alone.
        hidden_visibilities: visibilities whose check messages are withheld ("hidden" only,
            by default: the feedback is for the student).

    Returns:
        The path of `feedback.md`.
    """
    folder = Path(folder)
    markdown = feedback_markdown(result, folder, hidden_visibilities)
    return atomic_write_text(folder / FEEDBACK_FILE, markdown)
