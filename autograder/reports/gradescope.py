"""Gradescope's `results.json`: write one for a submission, and check one against the spec.

The format is Gradescope's "Autograder Specifications", section "Output format"
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): a JSON object with an
optional top-level `score` (required unless every test case has one), `execution_time`,
`output`, `output_format`, `test_output_format`, `test_name_format`, `visibility`,
`stdout_visibility`, `extra_data`, `tests` and `leaderboard`. Each test case may have
`score`, `max_score`, `status` ("passed" or "failed"), `name`, `name_format`, `number`,
`output`, `output_format`, `tags`, `visibility` and `extra_data`; a test case without a
score is an informational check and needs a `status`. Leaderboard entries are
`{"name", "value", "order"}` with `order` "asc" or "desc" (see the spec's "Leaderboards" page).

`validate_results_json` is stricter than the spec in two ways: a key the spec does not name
is reported, because Gradescope would silently ignore it (usually a typo), and so is a test
case without a `name`, which students would see as a bare number.

Example:
    >>> write_results_json(result, "/autograder/results/results.json")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.checks.result import VISIBILITIES
from autograder.grading.result import SubmissionResult
from autograder.reports.atomic import atomic_write_text
from autograder.reports.feedback import student_view

SPEC_URL = "https://gradescope-autograders.readthedocs.io/en/latest/specs/"
FORMATS = ("text", "simple_format", "html", "md", "ansi")
STATUSES = ("passed", "failed")
LEADERBOARD_ORDERS = ("asc", "desc")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _number_or_string(value: Any) -> bool:
    return _string(value) or _number(value)


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: value in choices


# Key -> (test of the value, what the spec expects, in words).
TOP_LEVEL: dict[str, tuple[Callable[[Any], bool], str]] = {
    "score": (_number, "a finite number"),
    "execution_time": (_number, "a finite number of seconds"),
    "output": (_string, "a string"),
    "output_format": (_one_of(FORMATS), f"one of {FORMATS}"),
    "test_output_format": (_one_of(FORMATS), f"one of {FORMATS}"),
    "test_name_format": (_one_of(FORMATS), f"one of {FORMATS}"),
    "visibility": (_one_of(VISIBILITIES), f"one of {VISIBILITIES}"),
    "stdout_visibility": (_one_of(VISIBILITIES), f"one of {VISIBILITIES}"),
    "extra_data": (_object, "a JSON object"),
    "tests": (lambda value: isinstance(value, list), "a list of test-case objects"),
    "leaderboard": (lambda value: isinstance(value, list), "a list of leaderboard entries"),
}

TEST_CASE: dict[str, tuple[Callable[[Any], bool], str]] = {
    "score": (_number, "a finite number"),
    "max_score": (_number, "a finite number"),
    "status": (_one_of(STATUSES), f"one of {STATUSES}"),
    "name": (_string, "a string"),
    "name_format": (_one_of(FORMATS), f"one of {FORMATS}"),
    "number": (_number_or_string, 'a string such as "1.1" (or a number)'),
    "output": (_string, "a string"),
    "output_format": (_one_of(FORMATS), f"one of {FORMATS}"),
    "tags": (_strings, "a list of strings"),
    "visibility": (_one_of(VISIBILITIES), f"one of {VISIBILITIES}"),
    "extra_data": (_object, "a JSON object"),
}

LEADERBOARD_ENTRY: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_string, "a string"),
    "value": (_number_or_string, "a number or a string"),
    "order": (_one_of(LEADERBOARD_ORDERS), f"one of {LEADERBOARD_ORDERS}"),
}


def _check_keys(
    where: str, data: dict, schema: dict[str, tuple[Callable[[Any], bool], str]], problems: list[str]
) -> None:
    for key, value in data.items():
        if key not in schema:
            problems.append(
                f"{where}: Expected only the keys of Gradescope's spec ({', '.join(schema)}). Received: {key}={value!r}"
            )
            continue
        test, expected = schema[key]
        if not test(value):
            problems.append(f"{where}.{key}: Expected {expected}. Received: {key}={value!r}")


def validate_results_json(data: Any) -> list[str]:
    """Check a parsed `results.json` against Gradescope's documented format.

    Args:
        data: the parsed JSON (what `json.load` returned).

    Returns:
        One message per problem, each "where: Expected X. Received: key=value" with `where` a
        path such as `results` or `results.tests[2]`; an empty list when the data is valid.
    """
    if not isinstance(data, dict):
        return [f"results: Expected a JSON object. Received: results={data!r}"]
    problems: list[str] = []
    _check_keys("results", data, TOP_LEVEL, problems)

    tests = data.get("tests")
    if "score" not in data and (not isinstance(tests, list) or not tests):
        problems.append(
            "results: Expected a top-level score, or a non-empty tests list. "
            f"Received: score=<missing>, tests={tests!r}"
        )
    if isinstance(tests, list):
        for index, test in enumerate(tests):
            where = f"results.tests[{index}]"
            if not isinstance(test, dict):
                problems.append(f"{where}: Expected a JSON object. Received: test={test!r}")
                continue
            _check_keys(where, test, TEST_CASE, problems)
            if "score" not in test and "status" not in test:
                problems.append(
                    f"{where}: Expected a score, or a status for an informational test. Received: keys={sorted(test)}"
                )
            if "name" not in test:
                problems.append(f"{where}: Expected a name (what students read). Received: name=<missing>")

    leaderboard = data.get("leaderboard")
    if isinstance(leaderboard, list):
        for index, entry in enumerate(leaderboard):
            where = f"results.leaderboard[{index}]"
            if not isinstance(entry, dict):
                problems.append(f"{where}: Expected a JSON object. Received: entry={entry!r}")
                continue
            _check_keys(where, entry, LEADERBOARD_ENTRY, problems)
            for key in ("name", "value"):
                if key not in entry:
                    problems.append(f"{where}: Expected a {key}. Received: {key}=<missing>")
    return problems


WITHHELD = "Hidden check: its details are withheld."


def write_results_json(
    result: SubmissionResult, path: str | os.PathLike, withhold: tuple[str, ...] = (), leaderboard: bool = False
) -> Path:
    """Write the submission's Gradescope `results.json` to `path`, atomically.

    Students read it: every message in it is `student_text` (see `feedback.student_view`), at
    most a few hundred characters of the student's own error, without the grader's paths.

    Args:
        result: what grading concluded about one submission.
        path: where to write, e.g. `/autograder/results/results.json` on Gradescope.
        withhold: visibilities whose failed checks keep their name and score but not their
            message: `("hidden",)` for a file handed back as it is (on Gradescope, which shows
            hidden tests to staff only, nothing is withheld).
        leaderboard: add Gradescope's `leaderboard` key, each trained run's hidden-split
            accuracy (`course.leaderboard` in course.yaml; Gradescope shows it under the
            pseudonyms students choose, when the assignment enables its leaderboard).

    Returns:
        The path written.

    Raises:
        ValueError: when `result.to_gradescope()` does not follow Gradescope's format (a bug
            in the grader, reported before Gradescope silently drops the bad part).
    """
    data = student_view(result).to_gradescope()
    if leaderboard and result.leaderboard():
        data["leaderboard"] = result.leaderboard()
    for test in data["tests"]:
        if test.get("visibility") in withhold and test.get("output"):
            test["output"] = WITHHELD
    problems = validate_results_json(data)
    if problems:
        raise ValueError(
            f"Expected results.json for {result.submission!r} to follow Gradescope's format ({SPEC_URL}). "
            "Received problems:\n" + "\n".join(f"- {problem}" for problem in problems)
        )
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
