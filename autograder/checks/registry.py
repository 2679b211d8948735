"""Attach points, part and visibility to a plain check function, and run it safely.

Like gradescope-utils' decorators: the author writes a plain function and states its
metadata with `@check(...)`; the runner reads it back with `check_meta`. The release
generator (`autograder/release/public_checks.py`) keeps in the student release exactly the
functions written `@check(..., visibility="visible")`, so write `visibility=` as a literal
keyword argument.

Example:
    >>> @check(part="part_one", points=2, visibility="visible")
    ... def parameter_count(model):
    ...     assert model.count_params() == 3_453_121, "Expected 3,453,121 parameters."
    >>> results = run_check(parameter_count, model)
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from autograder.checks.result import CheckFailure, CheckResult, failed, passed, validate_visibility

F = TypeVar("F", bound=Callable[..., Any])

_META_ATTRIBUTE = "__check_meta__"


@dataclass(frozen=True)
class CheckMeta:
    """What `@check` attached to a function: its part, points, visibility and display name."""

    part: str
    points: float
    visibility: str
    name: str


def check(*, part: str, points: float, visibility: str = "hidden", name: str | None = None) -> Callable[[F], F]:
    """Declare a plain function as a check worth `points` in lab part `part`.

    The function takes trusted data and either returns a `CheckResult` (or a list of them),
    returns None to pass, or raises `AssertionError`/`CheckFailure` to fail with a message.

    Args:
        part: the lab part (a key of `parts` in course.yaml).
        points: what the check is worth in course points, >= 0. A part's checks add up to
            the part's points in `course.yaml` (the grader refuses a lab where they do not).
        visibility: "hidden" (default), "visible", "after_due_date" or "after_published".
            Only "visible" checks reach the student release.
        name: the name students read, whatever happens to the check (passed, failed, not
            run); defaults to the function name with spaces. A check returning several
            results reports each as "name (the result's own name)".

    Returns:
        A decorator that returns the same function with its metadata attached.

    Raises:
        ValueError: an unknown visibility or negative points.
    """
    validate_visibility(visibility)
    if not isinstance(points, (int, float)) or points < 0:
        raise ValueError(f"Expected points to be a number >= 0. Received: points={points!r}")

    def decorate(fn: F) -> F:
        display = name or fn.__name__.replace("_", " ")
        setattr(fn, _META_ATTRIBUTE, CheckMeta(part=part, points=float(points), visibility=visibility, name=display))
        return fn

    return decorate


def check_meta(fn: Callable[..., Any]) -> CheckMeta | None:
    """The metadata `@check` attached to `fn`, or None for an undecorated function."""
    return getattr(fn, _META_ATTRIBUTE, None)


def _as_results(value: Any, meta: CheckMeta) -> list[CheckResult]:
    if value is None:
        return [passed(meta.name)]
    if isinstance(value, CheckResult):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, CheckResult) for item in value):
        return list(value)
    raise TypeError(
        f"Expected check {meta.name!r} to return None, a CheckResult or a non-empty list of them. "
        f"Received: {type(value).__name__}"
    )


def result_name(meta: CheckMeta, result: CheckResult, several: bool) -> str:
    """The name a result is reported under: always the check's name, so it is stable.

    A check that ran, failed or could not run at all is reported under `meta.name`; when it
    returns several results, each one adds its own name in parentheses.
    """
    if not several or not result.name or result.name == meta.name:
        return meta.name
    return f"{meta.name} ({result.name})"


def _scaled(results: list[CheckResult], meta: CheckMeta) -> list[CheckResult]:
    """Spread the declared points over the results, in proportion to their max_score."""
    weight = sum(result.max_score for result in results)
    several = len(results) > 1
    out = []
    for result in results:
        share = meta.points / len(results) if weight == 0 else meta.points * result.max_score / weight
        out.append(
            replace(
                result,
                points=meta.points,
                score=share * result.fraction,
                max_score=share,
                visibility=meta.visibility,
                part=meta.part,
                name=result_name(meta, result, several),
            )
        )
    return out


def run_check(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[CheckResult]:
    """Run one `@check` function and return its results, never raising what the check raised.

    An `AssertionError` or `CheckFailure` becomes a failed result carrying its message; any
    other exception becomes a failed result naming the exception (the check crashed, which
    is the grader's or the submission's problem, not the caller's). Scores are rescaled to the
    points declared with `@check`, and part and visibility come from the decorator.

    Args:
        fn: a function decorated with `@check`.
        *args: passed to `fn`.
        **kwargs: passed to `fn`.

    Returns:
        A non-empty list of `CheckResult`.

    Raises:
        TypeError: `fn` was not decorated with `@check`.
    """
    meta = check_meta(fn)
    if meta is None:
        raise TypeError(f"Expected a function decorated with @check. Received: fn={getattr(fn, '__name__', fn)!r}")
    try:
        results = _as_results(fn(*args, **kwargs), meta)
    except (AssertionError, CheckFailure) as error:
        message = str(error) or f"Check {meta.name!r} failed without a message."
        results = [failed(meta.name, message)]
    except Exception as error:  # noqa: BLE001 - a crashing check must not crash the batch
        where = traceback.extract_tb(error.__traceback__)[-1]
        results = [
            failed(
                meta.name,
                f"The check could not run: {type(error).__name__}: {error} "
                f"(in {where.name}, {where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
            )
        ]
    return _scaled(results, meta)
