"""Exact parameter counts: total, trainable and non-trainable, at one or more input sizes.

A count that is right at one input size and wrong at another says something useful: a
hard-coded input shape, or a Flatten where the reference pools. So the caller builds the
submission's model (and the reference) at two sizes and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras

from autograder.checks._layers import count
from autograder.checks.result import CheckResult, failed, passed


@dataclass(frozen=True)
class ParameterCounts:
    """How many parameters a model has: in all, trainable, and non-trainable."""

    total: int
    trainable: int
    non_trainable: int

    def describe(self) -> str:
        """ "3,453,121 (3,453,121 trainable, 0 non-trainable)"."""
        return f"{self.total:,} ({self.trainable:,} trainable, {self.non_trainable:,} non-trainable)"


def parameter_counts(model: keras.Model) -> ParameterCounts:
    """Count the parameters of a built model (BatchNormalization moving statistics included)."""
    trainable, non_trainable = count(model.trainable_weights), count(model.non_trainable_weights)
    return ParameterCounts(trainable + non_trainable, trainable, non_trainable)


def _counts(value: keras.Model | ParameterCounts | Mapping[str, Any]) -> ParameterCounts:
    from autograder.checks.summary import ModelSummary  # noqa: PLC0415  (it imports this module)

    if isinstance(value, ParameterCounts):
        return value
    if isinstance(value, ModelSummary):  # a reference model from the public snapshot
        return value.counts
    if isinstance(value, Mapping):
        return ParameterCounts(int(value["total"]), int(value["trainable"]), int(value["non_trainable"]))
    return parameter_counts(value)


def _size(size: Any) -> str:
    return "x".join(str(s) for s in size) if isinstance(size, (tuple, list)) else str(size)


def check_parameter_counts(
    received: keras.Model | ParameterCounts | Mapping[str, Any],
    expected: keras.Model | ParameterCounts | Mapping[str, Any],
    *,
    label: str = "the model",
    name: str = "parameter counts",
) -> CheckResult:
    """Check total, trainable and non-trainable counts exactly.

    Args:
        received: the submission's model, or its counts.
        expected: the reference model (or its `ModelSummary` from the public snapshot), or the expected counts (a `ParameterCounts` or a dict with
            total, trainable and non_trainable).
        label: how to name the model in the message ("`build_model()` at 150x150x3").
        name: the result's name.
    """
    got, want = _counts(received), _counts(expected)
    if got != want:
        return failed(
            name,
            f"Expected {label} to have {want.describe()} parameters. "
            f"Received: total={got.total:,}, trainable={got.trainable:,}, non_trainable={got.non_trainable:,}",
        )
    return passed(name, f"{label}: {got.describe()} parameters")


def check_parameter_counts_at_sizes(
    received: Mapping[Any, keras.Model | ParameterCounts | Mapping[str, Any]],
    expected: Mapping[Any, keras.Model | ParameterCounts | Mapping[str, Any]],
    *,
    label: str = "the model",
    name: str = "parameter counts at several input sizes",
) -> CheckResult:
    """Check exact counts at every input size of `expected` (keys: sizes, e.g. (150, 150, 3)).

    All sizes must match for the check to pass; the message names each size that does not.

    Raises:
        ValueError: `expected` is empty.
    """
    if not expected:
        raise ValueError("Expected at least one input size in `expected`. Received: expected={}")
    problems, shown = [], []
    for size, want_value in expected.items():
        want = _counts(want_value)
        if size not in received:
            problems.append(f"at input {_size(size)}: expected {want.describe()}, received no model")
            continue
        got = _counts(received[size])
        shown.append(f"{_size(size)}: {got.total:,}")
        if got != want:
            problems.append(
                f"at input {_size(size)}: expected {want.describe()}, received total={got.total:,}, "
                f"trainable={got.trainable:,}, non_trainable={got.non_trainable:,}"
            )
    if problems:
        return failed(
            name, f"Expected {label} to have exactly the reference's parameter counts. Received: {'; '.join(problems)}"
        )
    return passed(name, f"{label}: " + ", ".join(shown) + " parameters")
