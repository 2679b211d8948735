"""CheckResult: validation, Gradescope form, and the passed/failed/partial helpers."""

import pytest

from autograder.checks.result import CheckResult, expected_received, failed, partial, passed


def test_passed_earns_full_score():
    result = passed("counts", "ok", max_score=2.0, part="scratch", visibility="visible")
    assert (result.score, result.max_score, result.ok, result.fraction) == (2.0, 2.0, True, 1.0)
    assert result.part == "scratch"


def test_failed_earns_nothing_and_keeps_message():
    result = failed("counts", "Expected 3. Received: n=2")
    assert (result.score, result.ok) == (0.0, False)
    assert result.message == "Expected 3. Received: n=2"


def test_partial_clips_fraction():
    assert partial("a", 0.25, "m", max_score=4).score == 1.0
    assert partial("a", 1.7, "m").score == 1.0
    assert partial("a", -0.5, "m").score == 0.0
    with pytest.raises(ValueError, match="fraction"):
        partial("a", float("nan"), "m")


def test_to_gradescope_dict():
    result = failed("loss", "Expected BCE. Received: loss=mse", visibility="after_due_date")
    assert result.to_gradescope_dict() == {
        "name": "loss",
        "score": 0.0,
        "max_score": 1.0,
        "visibility": "after_due_date",
        "output": "Expected BCE. Received: loss=mse",
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"visibility": "public"}, "visibility='public'"),
        ({"score": -1.0}, "score=-1.0"),
        ({"score": 3.0}, "score=3.0"),
        ({"max_score": float("nan")}, "max_score=nan"),
    ],
)
def test_invalid_results_are_rejected(kwargs, message):
    fields = {"name": "x", "points": 2.0, "score": 1.0, "max_score": 2.0} | kwargs
    with pytest.raises(ValueError, match=message):
        CheckResult(**fields)


def test_result_is_frozen():
    with pytest.raises(AttributeError):
        passed("x").score = 0  # type: ignore[misc]


def test_expected_received_formula():
    assert (
        expected_received("a float between 0 and 1.", rate=1.5)
        == "Expected a float between 0 and 1. Received: rate=1.5"
    )
