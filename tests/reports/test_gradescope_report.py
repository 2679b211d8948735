"""results.json: the grader's own output follows Gradescope's spec; each kind of breakage is reported."""

from __future__ import annotations

import copy
import json
import os

import pytest

from autograder.reports.gradescope import validate_results_json, write_results_json

from .factories import make_result


def test_real_output_validates(result):
    assert validate_results_json(result.to_gradescope()) == []


def test_result_read_back_from_the_grader_records_validates(result):
    again = type(result).from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_gradescope() == result.to_gradescope()
    assert validate_results_json(again.to_gradescope()) == []


def test_crashed_and_empty_results_validate():
    assert validate_results_json(make_result(crashed=True, scratch_score=0.0).to_gradescope()) == []
    empty = make_result()
    empty.parts = []
    assert validate_results_json(empty.to_gradescope()) == []


def test_documented_example_validates():
    # Every key of the spec's example, and an informational test with a status but no score.
    data = {
        "score": 44.0,
        "execution_time": 136,
        "output": "Text relevant to the entire submission",
        "output_format": "simple_format",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "after_due_date",
        "stdout_visibility": "visible",
        "extra_data": {},
        "tests": [
            {
                "score": 2.0,
                "max_score": 2.0,
                "status": "passed",
                "name": "Your name here",
                "name_format": "text",
                "number": "1.1",
                "output": "Giant multiline string",
                "output_format": "md",
                "tags": ["tag1", "tag2"],
                "visibility": "visible",
                "extra_data": {},
            },
            {"name": "Compilation check", "status": "failed"},
        ],
        "leaderboard": [
            {"name": "Accuracy", "value": 0.926},
            {"name": "Time", "value": 15.1, "order": "asc"},
            {"name": "Stars", "value": "*****"},
        ],
    }
    assert validate_results_json(data) == []


def _broken(change) -> list[str]:
    data = copy.deepcopy(make_result().to_gradescope())
    change(data)
    return validate_results_json(data)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(score="9"), "results.score: Expected a finite number. Received: score='9'"),
        (lambda d: d.update(score=True), "results.score: Expected a finite number"),
        (lambda d: d.update(score=float("nan")), "results.score: Expected a finite number"),
        (lambda d: d.update(visibility="secret"), "results.visibility: Expected one of"),
        (lambda d: d.update(stdout_visibility="never"), "results.stdout_visibility: Expected one of"),
        (lambda d: d.update(output_format="markdown"), "results.output_format: Expected one of"),
        (lambda d: d.update(execution_time="fast"), "results.execution_time: Expected a finite number of seconds"),
        (lambda d: d.update(extra_data=[]), "results.extra_data: Expected a JSON object"),
        (lambda d: d.update(tests={}), "results.tests: Expected a list of test-case objects"),
        (lambda d: d.update(scores=1), "results: Expected only the keys of Gradescope's spec"),
        (lambda d: d["tests"][1].pop("name"), "results.tests[1]: Expected a name"),
        (lambda d: d["tests"][0].update(visibility="public"), "results.tests[0].visibility: Expected one of"),
        (lambda d: d["tests"][0].update(max_score="1"), "results.tests[0].max_score: Expected a finite number"),
        (lambda d: d["tests"][0].update(status="ok"), "results.tests[0].status: Expected one of ('passed', 'failed')"),
        (lambda d: d["tests"][0].update(tags="augmentation"), "results.tests[0].tags: Expected a list of strings"),
        (lambda d: d["tests"][0].update(number=[1]), "results.tests[0].number: Expected a string"),
        (lambda d: d["tests"][0].update(name_format="rst"), "results.tests[0].name_format: Expected one of"),
        (lambda d: d["tests"][0].update(hidden=True), "results.tests[0]: Expected only the keys"),
        (lambda d: d["tests"][0].pop("score"), "results.tests[0]: Expected a score, or a status"),
        (lambda d: d["tests"].append("check"), "results.tests[4]: Expected a JSON object"),
        (lambda d: d.update(leaderboard=[{"name": "Accuracy"}]), "results.leaderboard[0]: Expected a value"),
        (
            lambda d: d.update(leaderboard=[{"name": "A", "value": 1, "order": "up"}]),
            "results.leaderboard[0].order: Expected one of ('asc', 'desc')",
        ),
        (lambda d: (d.pop("score"), d.update(tests=[])), "results: Expected a top-level score, or a non-empty tests"),
    ],
)
def test_each_breakage_is_reported(change, expected):
    problems = _broken(change)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_several_problems_are_all_reported():
    def change(data):
        data["score"] = "9"
        data["tests"][0]["visibility"] = "public"
        data["tests"][2].pop("name")

    assert len(_broken(change)) == 3


def test_not_an_object():
    assert validate_results_json([]) == ["results: Expected a JSON object. Received: results=[]"]


def test_write_results_json(tmp_path, result):
    path = write_results_json(result, tmp_path / "results" / "results.json")
    assert path == tmp_path / "results" / "results.json"
    assert json.loads(path.read_text()) == result.to_gradescope()
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temporary file left


def test_write_replaces_atomically(tmp_path, result, monkeypatch):
    path = tmp_path / "results.json"
    path.write_text("old")
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (replaced.append((src, dst)), real_replace(src, dst)))
    write_results_json(result, path)
    assert replaced and replaced[0][1] == path and str(replaced[0][0]) != str(path)
    assert json.loads(path.read_text())["score"] == result.score


def test_write_refuses_invalid_output(tmp_path, result, monkeypatch):
    bad = result.to_gradescope()
    bad["tests"][0].pop("name")
    monkeypatch.setattr(type(result), "to_gradescope", lambda self: bad)
    with pytest.raises(ValueError, match=r"Expected results.json for 'alice' to follow Gradescope's format") as error:
        write_results_json(result, tmp_path / "results.json")
    assert "results.tests[0]: Expected a name" in str(error.value)
    assert not (tmp_path / "results.json").exists()


def test_leaderboard_key_carries_each_runs_accuracy_when_the_course_asks(tmp_path):
    result = make_result()
    plain = json.loads(write_results_json(result, tmp_path / "plain.json").read_text())
    assert "leaderboard" not in plain  # off unless course.leaderboard is true
    data = json.loads(write_results_json(result, tmp_path / "board.json", leaderboard=True).read_text())
    assert validate_results_json(data) == []
    assert data["leaderboard"] == [
        {"name": f"{curve.name} accuracy", "value": round(curve.accuracy, 4), "order": "desc"} for curve in result.curves
    ]
    assert data["leaderboard"]
