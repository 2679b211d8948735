"""The gradebook CSV: one row per submission, sorted, updated in place, read back exactly."""

from __future__ import annotations

import csv

import pytest

from autograder.grading.result import PartResult
from autograder.reports.gradebook import GradebookRow, read_gradebook, write_gradebook

from .factories import make_result


def _csv(path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def test_one_sorted_row_per_submission(tmp_path):
    path = write_gradebook([make_result("carol"), make_result("alice"), make_result("bob")], tmp_path / "g.csv")
    lines = _csv(path)
    assert lines[0] == [
        "submission",
        "student",
        "score",
        "max_score",
        "augmentation",
        "scratch",
        "profile",
        "content_hash",
        "execution_time",
        "manifest",
    ]
    assert [line[0] for line in lines[1:]] == ["alice", "bob", "carol"]
    assert lines[1] == ["alice", "", "2.5", "5.0", "1.5", "1.0", "smoke", "sha256:alice-0123456789abcdef", "42.2", ""]


def test_read_back_matches_results(tmp_path):
    results = [make_result("bob"), make_result("alice", scratch_score=2.0)]
    rows = read_gradebook(write_gradebook(results, tmp_path / "g.csv"))
    assert rows == [GradebookRow.from_result(results[1]), GradebookRow.from_result(results[0])]
    assert rows[0] == GradebookRow(
        "alice", 3.5, 5.0, {"augmentation": 1.5, "scratch": 2.0}, "smoke", "sha256:alice-0123456789abcdef", 42.2
    )


def test_regrading_replaces_the_row(tmp_path):
    path = tmp_path / "g.csv"
    write_gradebook([make_result("alice"), make_result("bob")], path)
    write_gradebook([make_result("alice", scratch_score=2.0)], path)
    rows = read_gradebook(path)
    assert [row.submission for row in rows] == ["alice", "bob"]
    assert rows[0].score == 3.5 and rows[1].score == 2.5


def test_new_submissions_are_added_and_duplicates_keep_the_last(tmp_path):
    path = tmp_path / "sub" / "g.csv"
    write_gradebook([make_result("bob")], path)
    write_gradebook([make_result("alice"), make_result("alice", scratch_score=0.0)], path)
    rows = read_gradebook(path)
    assert [(row.submission, row.score) for row in rows] == [("alice", 1.5), ("bob", 2.5)]


def test_without_merge_the_file_holds_only_the_results(tmp_path):
    path = tmp_path / "g.csv"
    write_gradebook([make_result("alice"), make_result("bob")], path)
    write_gradebook([make_result("carol")], path, merge=False)
    assert [row.submission for row in read_gradebook(path)] == ["carol"]


def test_parts_missing_from_a_submission_are_empty(tmp_path):
    path = tmp_path / "g.csv"
    extra = make_result("bob")
    extra.parts.append(PartResult("fine_tuning", "Fine-tuning", 4.0))
    write_gradebook([make_result("alice"), extra], path)
    assert _csv(path)[0][4:7] == ["augmentation", "scratch", "fine_tuning"]
    assert _csv(path)[1][6] == ""
    alice, bob = read_gradebook(path)
    assert alice.parts["fine_tuning"] is None and bob.parts["fine_tuning"] == 0.0


def test_formula_like_text_is_neutralised_and_read_back(tmp_path):
    names = ["=HYPERLINK(1)", "-bob", "'quoted", "@x"]
    path = write_gradebook([make_result(name) for name in names], tmp_path / "g.csv")
    assert all(line[0].startswith("'") for line in _csv(path)[1:])
    assert sorted(row.submission for row in read_gradebook(path)) == sorted(names)


def test_empty_gradebook(tmp_path):
    path = write_gradebook([], tmp_path / "g.csv")
    assert len(_csv(path)) == 1 and read_gradebook(path) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,score\nalice,1\n", "Expected a gradebook header"),
        (
            "submission,score,max_score,a,a,profile,content_hash,execution_time\n",
            "Expected a gradebook header .* with distinct names",
        ),
        (
            "submission,score,max_score,profile,content_hash,execution_time\nalice,lots,5,smoke,h,1\n",
            r"Expected a number in column 'score'. Received: score='lots' at .*g.csv:2",
        ),
        (
            "submission,score,max_score,profile,content_hash,execution_time\nalice,1,5\n",
            r"Expected 6 cells. Received: cells=3 at .*g.csv:2",
        ),
    ],
)
def test_bad_files_are_reported(tmp_path, text, message):
    path = tmp_path / "g.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_gradebook(path)
    with pytest.raises(ValueError, match=message):
        write_gradebook([make_result()], path)
    assert path.read_text() == text  # a bad file is never overwritten by a merge


def test_part_named_like_a_column_is_refused(tmp_path):
    result = make_result()
    result.parts.append(PartResult("profile", "Profile", 1.0))
    with pytest.raises(ValueError, match="Expected part ids other than the gradebook's own columns"):
        write_gradebook([result], tmp_path / "g.csv")
