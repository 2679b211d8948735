"""Credit for a measured accuracy against a calibrated threshold record.

Full credit at or above the threshold, credit falling linearly to zero at the floor, and zero
below it. Thresholds come from calibrating the hidden solution on a profile; this module only
turns a measurement into a score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from autograder.checks.result import CheckResult, failed, partial, passed


class ThresholdLike(Protocol):
    """Anything with a `threshold` and a `floor` (a config model, a calibration record)."""

    threshold: float
    floor: float


@dataclass(frozen=True)
class Threshold:
    """A threshold record: full credit at `threshold`, none below `floor`."""

    threshold: float
    floor: float

    def __post_init__(self) -> None:
        for key in ("threshold", "floor"):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or math.isnan(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"Expected {key} to be a number between 0 and 1. Received: {key}={value!r}")
        if self.floor > self.threshold:
            raise ValueError(f"Expected floor <= threshold ({self.threshold}). Received: floor={self.floor}")


def as_threshold(record: ThresholdLike | Mapping[str, Any]) -> Threshold:
    """A validated `Threshold` from an object with `threshold`/`floor` or a dict with those keys."""
    if isinstance(record, Mapping):
        return Threshold(record["threshold"], record["floor"])
    return Threshold(record.threshold, record.floor)


def accuracy_fraction(measured: float, record: ThresholdLike | Mapping[str, Any]) -> float:
    """The share of credit, 0 to 1, for `measured` under `record` (0 for NaN)."""
    limits = as_threshold(record)
    if measured is None or math.isnan(measured):
        return 0.0
    if measured >= limits.threshold:
        return 1.0
    if measured < limits.floor or limits.threshold == limits.floor:
        return 0.0
    return (measured - limits.floor) / (limits.threshold - limits.floor)


def score_accuracy(
    measured: float,
    record: ThresholdLike | Mapping[str, Any],
    *,
    name: str = "accuracy",
    what: str = "accuracy on the hidden test split",
) -> CheckResult:
    """Score a measured accuracy: full at the threshold, linear down to the floor, zero below.

    Example:
        >>> score_accuracy(0.80, {"threshold": 0.85, "floor": 0.75}).fraction
        0.5

    Args:
        measured: the accuracy the grader measured, 0 to 1.
        record: the threshold record (threshold, floor).
        name: the result's name.
        what: what was measured, for the message.

    Raises:
        ValueError: the record is invalid (values outside 0..1, or floor above threshold).
    """
    limits = as_threshold(record)
    fraction = accuracy_fraction(measured, limits)
    shown = "nan" if measured is None or math.isnan(measured) else f"{measured:.3f}"
    if fraction >= 1.0:
        return passed(name, f"{what}: {shown} (threshold {limits.threshold:.3f})")
    expected = (
        f"Expected {what} of at least {limits.threshold:.3f} for full credit "
        f"(partial credit down to {limits.floor:.3f}). Received: accuracy={shown}"
    )
    if fraction <= 0.0:
        return failed(name, expected)
    return partial(name, fraction, f"{expected} ({fraction:.0%} of the credit)")
