"""Narrow output channel: what a student can make the grader print where students read it.

A submission that reads something it should not (a hidden image, a threshold) could smuggle it
out in an exception message: the grader shows a failed visible check's message to the student.
Every student-facing output (Gradescope's `results.json`, `feedback.md`, the notebook exports'
reports) keeps at most `STUDENT_TEXT_LIMIT` characters of it, only the exception line and the
student's own file and line, never the grader's paths, and never a hidden check's message.
"""

from __future__ import annotations

import json

from autograder.checks.result import CheckResult
from autograder.export.runtime import part_report
from autograder.grading.result import PartResult, SandboxSummary, SubmissionResult
from autograder.reports.feedback import STUDENT_TEXT_LIMIT, student_text, write_feedback
from autograder.reports.gradescope import write_results_json

SECRET = "S3CRET" * 900  # 5.4 kB of "hidden data" the student code put in its exception
GRADER_PATH = "/tmp/course-grade-k2j3/run-scratch/code"
TRACEBACK = f"""Not checked: ValueError: {SECRET}
Traceback (most recent call last):
  File "/usr/lib/python3/site-packages/autograder/probes/worker.py", line 66, in run
    outcome.details = probe(module, ctx)
  File "/usr/lib/python3/site-packages/autograder/probes/parts.py", line 120, in scratch_model
    model = module.build_scratch_cnn(ctx.settings["image_size"])
  File "{GRADER_PATH}/scratch.py", line 12, in build_scratch_cnn
    raise ValueError(secret)
ValueError: {SECRET}"""
HIDDEN = "Expected hidden accuracy >= 0.8123 (threshold). Received: accuracy=0.5"


def hostile_result() -> SubmissionResult:
    checks = [
        CheckResult("builds the model", 2.0, 0.0, 2.0, "visible", TRACEBACK, "scratch"),
        CheckResult("hidden accuracy", 2.0, 0.0, 2.0, "hidden", HIDDEN + SECRET, "scratch"),
        CheckResult("after the deadline", 1.0, 0.0, 1.0, "after_due_date", TRACEBACK, "scratch"),
    ]
    sandbox = SandboxSummary("crashed", 1.0, "plain", f"exit status 1: {SECRET}", f"stderr {SECRET}")
    part = PartResult("scratch", "Training from scratch", 5.0, checks, sandbox)
    return SubmissionResult(f"alice{SECRET}", "abc", "ci", "d", [part], notes=[f"a note {SECRET}"])


def student_visible_outputs(data: dict) -> list[str]:
    """Each line of the top-level output (one per part and note), and each visible test's output."""
    texts = data["output"].splitlines()
    texts += [t.get("output", "") for t in data["tests"] if t.get("visibility", "visible") != "hidden"]
    return texts


def test_student_text_keeps_the_exception_line_and_the_students_own_frame():
    text = student_text(TRACEBACK)
    assert len(text) <= STUDENT_TEXT_LIMIT
    assert text.startswith("Not checked: ValueError: S3CRET")
    assert "scratch.py, line 12, in build_scratch_cnn" in text
    assert "/tmp/" not in text and "course-grade" not in text and "worker.py" not in text and "parts.py" not in text


def test_student_text_keeps_short_messages_as_they_are():
    message = "Expected 3,453,121 parameters. Received: total=3,453,122"
    assert student_text(message) == message


def test_results_json_caps_student_text(tmp_path):
    data = json.loads(write_results_json(hostile_result(), tmp_path / "results.json").read_text())
    for text in student_visible_outputs(data):
        assert text.count("S3CRET") * len("S3CRET") <= STUDENT_TEXT_LIMIT, text[:200]
        assert GRADER_PATH not in text and "worker.py" not in text
    # Every test output, hidden ones included, is capped: a TA's view is no channel either.
    assert all(len(t["output"]) <= STUDENT_TEXT_LIMIT for t in data["tests"])
    assert len(data["output"]) <= 2000
    assert data["score"] == 0


def test_feedback_caps_student_text_and_withholds_hidden_messages(tmp_path):
    markdown = write_feedback(hostile_result(), tmp_path).read_text()
    assert markdown.count("S3CRET") * len("S3CRET") <= 5 * STUDENT_TEXT_LIMIT  # title, 2 checks, sandbox, note
    for line in markdown.splitlines():
        assert line.count("S3CRET") * len("S3CRET") <= STUDENT_TEXT_LIMIT, line[:200]
    assert "0.8123" not in markdown and "threshold" not in markdown
    assert GRADER_PATH not in markdown and "worker.py" not in markdown


def test_notebook_part_report_caps_student_text():
    report = part_report(hostile_result().parts[0])
    assert report.count("S3CRET") * len("S3CRET") <= 2 * STUDENT_TEXT_LIMIT
    assert "0.8123" not in report and GRADER_PATH not in report


def test_student_text_keeps_the_exception_line_after_a_whole_traceback():
    message = (
        "importing scratch.py failed:\nTraceback (most recent call last):\n"
        '  File "/usr/lib/python3/site-packages/autograder/probes/worker.py", line 52, in run\n'
        '  File "/tmp/course-grade-x/code/scratch.py", line 3, in <module>\n    import foo\n'
        "ModuleNotFoundError: No module named 'foo'"
    )
    assert student_text(message) == (
        "importing scratch.py failed:\nModuleNotFoundError: No module named 'foo' (at scratch.py, line 3, in <module>)"
    )
