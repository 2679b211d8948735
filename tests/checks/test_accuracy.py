"""Credit for a measured accuracy: full above the threshold, linear to the floor, zero below."""

import math
from types import SimpleNamespace

import pytest

from autograder.checks.accuracy import Threshold, accuracy_fraction, score_accuracy

RECORD = {"threshold": 0.85, "floor": 0.75}


@pytest.mark.parametrize(
    "measured, fraction",
    [(0.90, 1.0), (0.85, 1.0), (0.80, 0.5), (0.775, 0.25), (0.75, 0.0), (0.60, 0.0), (math.nan, 0.0)],
)
def test_fraction(measured, fraction):
    assert accuracy_fraction(measured, RECORD) == pytest.approx(fraction)


def test_full_credit_message():
    result = score_accuracy(0.9, SimpleNamespace(threshold=0.85, floor=0.75), name="frozen base")
    assert result.ok and result.message == "accuracy on the hidden test split: 0.900 (threshold 0.850)"


def test_partial_credit_says_expected_and_received():
    result = score_accuracy(0.80, Threshold(0.85, 0.75))
    assert result.score == pytest.approx(0.5)
    assert result.message == (
        "Expected accuracy on the hidden test split of at least 0.850 for full credit "
        "(partial credit down to 0.750). Received: accuracy=0.800 (50% of the credit)"
    )


def test_below_floor_earns_nothing():
    result = score_accuracy(0.5, RECORD)
    assert result.score == 0 and result.message.endswith("Received: accuracy=0.500")


def test_equal_floor_and_threshold_is_a_step():
    assert accuracy_fraction(0.849, {"threshold": 0.85, "floor": 0.85}) == 0.0
    assert accuracy_fraction(0.85, {"threshold": 0.85, "floor": 0.85}) == 1.0


@pytest.mark.parametrize(
    "record, message",
    [({"threshold": 0.7, "floor": 0.8}, "floor=0.8"), ({"threshold": 1.5, "floor": 0.8}, "threshold=1.5")],
)
def test_invalid_records_raise(record, message):
    with pytest.raises(ValueError, match=message):
        score_accuracy(0.8, record)
