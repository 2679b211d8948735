"""What a check returns: a `CheckResult`, and the helpers that build one.

A check is a small function of trusted data (a model loaded by the grader, arrays, plain
dicts) that returns a `CheckResult` or a list of them. It knows nothing about the CLI or the
report formats; `to_gradescope_dict()` is the one place a result meets a platform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class CheckFailure(Exception):
    """Raised inside a check to fail it with a message ("Expected ... Received: ...").

    `run_check` turns it (like an `AssertionError`) into a failed `CheckResult`.
    """


def validate_visibility(visibility: str) -> str:
    """Return `visibility` if Gradescope knows it, else raise a ValueError naming the value."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"Expected visibility to be one of {VISIBILITIES}. Received: visibility={visibility!r}")
    return visibility


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: what was checked, as students will read it.
        points: the points of the check that produced this result (from `@check`).
        score: the points earned, between 0 and `max_score`.
        max_score: this result's share of `points` (equal to `points` for a check that returns
            one result; a check that returns several splits its points between them).
        visibility: one of Gradescope's visibilities: "visible", "hidden", "after_due_date",
            "after_published".
        message: for a failure, "Expected ... Received: ..." naming the layer or function.
        part: the lab part the check belongs to (a key of `parts` in course.yaml), or "".
    """

    name: str
    points: float
    score: float
    max_score: float
    visibility: str = "hidden"
    message: str = ""
    part: str = ""

    def __post_init__(self) -> None:
        validate_visibility(self.visibility)
        for field_name in ("points", "score", "max_score"):
            value = getattr(self, field_name)
            if not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
                raise ValueError(f"Expected {field_name} to be a number >= 0. Received: {field_name}={value!r}")
        if self.score > self.max_score + 1e-9:
            raise ValueError(
                f"Expected score <= max_score ({self.max_score}). Received: score={self.score} for check {self.name!r}"
            )

    @property
    def ok(self) -> bool:
        """True when the result earned its full `max_score`."""
        return self.score >= self.max_score - 1e-9

    @property
    def fraction(self) -> float:
        """The share of `max_score` earned, from 0 to 1 (1 for a result worth nothing)."""
        return 1.0 if self.max_score == 0 else self.score / self.max_score

    def to_gradescope_dict(self) -> dict[str, Any]:
        """The result as one entry of the `tests` list of a Gradescope `results.json`."""
        return {
            "name": self.name,
            "score": round(self.score, 6),
            "max_score": round(self.max_score, 6),
            "visibility": self.visibility,
            "output": self.message,
        }


def passed(
    name: str, message: str = "", *, max_score: float = 1.0, part: str = "", visibility: str = "hidden"
) -> CheckResult:
    """A result that earned all of `max_score`.

    Inside a check run by `run_check`, `max_score` is a weight: the runner rescales it to the
    points declared with `@check`.
    """
    return CheckResult(name, max_score, max_score, max_score, visibility, message, part)


def failed(
    name: str, message: str, *, max_score: float = 1.0, part: str = "", visibility: str = "hidden"
) -> CheckResult:
    """A result that earned nothing; `message` says what was expected and what was received."""
    return CheckResult(name, max_score, 0.0, max_score, visibility, message, part)


def partial(
    name: str,
    fraction: float,
    message: str,
    *,
    max_score: float = 1.0,
    part: str = "",
    visibility: str = "hidden",
) -> CheckResult:
    """A result that earned `fraction` (clipped to 0..1) of `max_score`."""
    if not isinstance(fraction, (int, float)) or math.isnan(fraction):
        raise ValueError(f"Expected fraction to be a number between 0 and 1. Received: fraction={fraction!r}")
    fraction = min(1.0, max(0.0, float(fraction)))
    return CheckResult(name, max_score, fraction * max_score, max_score, visibility, message, part)


def expected_received(expected: str, **received: Any) -> str:
    """The house error formula: "Expected <expected>. Received: name=value, ...".

    Example:
        >>> expected_received("a float between 0 and 1", rate=1.5)
        'Expected a float between 0 and 1. Received: rate=1.5'
    """
    expected = expected.rstrip(".")
    shown = ", ".join(f"{key}={value}" for key, value in received.items())
    return f"Expected {expected}. Received: {shown}"


def because(results: CheckResult | list[CheckResult], cause: str | None) -> CheckResult | list[CheckResult]:
    """Restate the failures of `results` as following from `cause`, another function's mistake.

    One missing line (a base left trainable) can fail the checks of functions that are right;
    a check that knows the cause names it, so the student fixes that first instead of reading
    a layer list about a function with nothing wrong. Passed results and `cause=None` are kept.

    >>> r = failed("only the head trains", "Expected ... 104 mismatching layers ...", max_score=3)
    >>> because(r, "`make_encoder` returned a trainable encoder").message.split(";")[0]
    'Because `make_encoder` returned a trainable encoder, this check fails too'
    """
    if not cause:
        return results

    def restate(result: CheckResult) -> CheckResult:
        if result.ok:
            return result
        detail = next((line.strip() for line in result.message.splitlines() if line.strip()), "")
        detail = detail if len(detail) <= 160 else detail[:157] + "..."
        message = f"Because {cause}, this check fails too; fix that first, then run the checks again. ({detail})"
        return replace(result, message=message)

    return [restate(r) for r in results] if isinstance(results, list) else restate(results)
