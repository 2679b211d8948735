"""`course grade` output: the rich score table and the --json document."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from autograder.grading.result import PartResult
from autograder.reports.summary import results_as_json, scores_table

from .factories import HIDDEN_MESSAGE, make_result


def _render(table) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(table)
    return console.file.getvalue()


def test_table_has_a_row_per_submission_with_parts_and_total():
    extra = make_result("bob [bold]x")  # rendered literally, not as rich markup
    extra.parts.append(PartResult("fine_tuning", "Fine-tuning", 4.0))
    results = [make_result("carol", crashed=True), make_result("alice", scratch_score=2.0), extra]
    table = scores_table(results, title="Lab 1")
    assert [str(column.header) for column in table.columns] == [
        "Submission",
        "Data augmentation",
        "Training from scratch",
        "Fine-tuning",
        "Total",
    ]
    assert table.row_count == 3
    text = _render(table)
    lines = [line for line in text.splitlines() if any(name in line for name in ("alice", "bob", "carol"))]
    assert [next(n for n in ("alice", "bob", "carol") if n in line) for line in lines] == ["alice", "bob", "carol"]
    alice, bob, carol = lines
    assert "1.5 / 3" in alice and "2 / 2" in alice and "3.5 / 5" in alice and "-" in alice
    assert "bob [bold]x" in bob and "0 / 4" in bob and "2.5 / 9" in bob
    assert "1 / 2 (timeout)" in carol and "(timeout)" not in alice
    assert "Lab 1" in text and "3 submission(s), mean total 2.83" in text


def test_empty_table():
    table = scores_table([])
    assert table.row_count == 0 and "No submissions." in _render(table)


def test_json_document():
    files = {"alice": {"results_json": Path("out/alice/results.json"), "feedback": "out/alice/feedback.md"}}
    document = json.loads(results_as_json([make_result("bob", crashed=True), make_result("alice")], files=files))
    assert document["version"] == 1 and document["count"] == 2
    alice, bob = document["submissions"]
    assert (alice["submission"], bob["submission"]) == ("alice", "bob")
    assert alice["score"] == 2.5 and alice["max_score"] == 5.0 and alice["profile"] == "smoke"
    assert alice["files"] == {"results_json": "out/alice/results.json", "feedback": "out/alice/feedback.md"}
    assert bob["files"] == {}
    assert [part["part"] for part in alice["parts"]] == ["augmentation", "scratch"]
    checks = alice["parts"][0]["checks"]
    assert [(c["name"], c["score"], c["max_score"], c["passed"], c["visibility"]) for c in checks] == [
        ("flips are horizontal only", 1.0, 1.0, True, "visible"),
        ("identity at inference", 0.0, 1.0, False, "visible"),
        ("augmented accuracy", 0.5, 1.0, False, "hidden"),
    ]
    assert checks[2]["message"] == HIDDEN_MESSAGE  # for the TA: hidden messages are kept
    assert bob["parts"][1]["worker"]["outcome"] == "timeout"
    assert alice["models"] == [{"name": "scratch", "accuracy": 0.75}, {"name": "frozen base", "accuracy": 0.9}]


def test_json_without_sandbox_and_non_finite_numbers():
    result = make_result()
    result.parts[0].sandbox = None
    result.curves[0].accuracy = float("nan")
    text = results_as_json([result])
    assert "NaN" not in text
    submission = json.loads(text)["submissions"][0]
    assert submission["parts"][0]["worker"] is None and submission["models"][0]["accuracy"] is None


def test_json_of_nothing():
    assert json.loads(results_as_json([])) == {"version": 1, "count": 0, "submissions": []}


def test_files_for_unknown_submissions_are_refused():
    with pytest.raises(
        ValueError, match=r"Expected files only for graded submissions. Received: submissions=\['zed'\]"
    ):
        results_as_json([make_result("alice")], files={"zed": {"feedback": "x"}})
