"""Trainability by flags: every layer's trainable flag and its trainable/non-trainable split.

The submission's model and the reference model are walked the same way (nested models, such
as a pretrained base inside the transfer model, included) and compared layer by layer, by
position, because layer names are not part of the lab's contract. Only layers that hold
weights are compared: the flag of a Dropout or a RandomFlip changes nothing.

What the flags claim is checked here; what training actually does is checked by
`autograder.checks.training_probe`, which catches flags changed without compiling again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras

from autograder.checks._layers import count, walk
from autograder.checks.result import CheckResult, expected_received, failed, passed

# Trainability by behaviour lives in `training_probe`; it is re-exported here so that both halves
# of "trainability" are found in one place.
from autograder.checks.training_probe import TrainingProbe, check_frozen_by_behaviour, run_training_probe

__all__ = [
    "LayerTrainability",
    "TrainingProbe",
    "check_frozen",
    "check_frozen_by_behaviour",
    "check_trainability_flags",
    "describe_trainability",
    "run_training_probe",
]

MAX_LISTED = 5


@dataclass(frozen=True)
class LayerTrainability:
    """One layer's flag and the parameters it holds (sublayers included), by trainability."""

    path: str
    kind: str
    trainable: bool
    trainable_params: int
    non_trainable_params: int
    container: bool = False

    def summary(self) -> str:
        """ "trainable=False, 0 trainable / 4 non-trainable parameters"."""
        return (
            f"trainable={self.trainable}, {self.trainable_params:,} trainable / "
            f"{self.non_trainable_params:,} non-trainable parameters"
        )

    def same_split(self, other: LayerTrainability) -> bool:
        """True when flag and both counts agree (path and kind are not compared)."""
        return (self.trainable, self.trainable_params, self.non_trainable_params) == (
            other.trainable,
            other.trainable_params,
            other.non_trainable_params,
        )


def describe_trainability(model: keras.Model) -> list[LayerTrainability]:
    """The trainability of every layer of `model` that holds weights, in walking order.

    Example:
        >>> [row.summary() for row in describe_trainability(model)][:1]
        ['trainable=False, 0 trainable / 2,257,984 non-trainable parameters']
    """
    rows = []
    for walked in walk(model):
        layer = walked.layer
        if not layer.weights:
            continue
        rows.append(
            LayerTrainability(
                path=walked.path,
                kind=type(layer).__name__,
                trainable=bool(layer.trainable),
                trainable_params=count(layer.trainable_weights),
                non_trainable_params=count(layer.non_trainable_weights),
                container=walked.is_container,
            )
        )
    return rows


def _rows(value: keras.Model | Sequence[LayerTrainability]) -> list[LayerTrainability]:
    from autograder.checks.summary import ModelSummary  # noqa: PLC0415  (it imports this module)

    if isinstance(value, ModelSummary):  # a reference model from the public snapshot
        return list(value.rows)
    return list(value) if isinstance(value, (list, tuple)) else describe_trainability(value)


def _listed(lines: list[str]) -> str:
    shown = "; ".join(lines[:MAX_LISTED])
    return shown + (f"; and {len(lines) - MAX_LISTED} more" if len(lines) > MAX_LISTED else "")


def check_trainability_flags(
    received: keras.Model | Sequence[LayerTrainability],
    expected: keras.Model | Sequence[LayerTrainability],
    *,
    name: str = "trainable and frozen layers",
) -> CheckResult:
    """Compare every layer's trainable flag and trainable/non-trainable split with a reference.

    Layers are matched by position among the layers that hold weights. Mismatches of plain
    layers are reported before mismatches of nested models (whose counts only echo them).

    Args:
        received: the submission's model (or its `describe_trainability`).
        expected: the reference model built the same way (or its description).
        name: the result's name.

    Returns:
        A passed result, or a failed one naming each mismatching layer with the expected and
        received flag and counts.
    """
    got, want = _rows(received), _rows(expected)
    if len(got) != len(want):
        kinds = lambda rows: sum(1 for row in rows if not row.container)  # noqa: E731
        return failed(
            name,
            expected_received(
                f"{kinds(want)} layers with weights (as in the reference)",
                layers_with_weights=kinds(got),
            )
            + ". The architectures differ; see the architecture check.",
        )
    for index, (g, w) in enumerate(zip(got, want)):
        if g.kind != w.kind:
            return failed(
                name,
                expected_received(
                    f"layer {index + 1} with weights to be a {w.kind} (reference: `{w.path}`)",
                    layer=f"`{g.path}` ({g.kind})",
                ),
            )
    mismatches = [(g, w) for g, w in zip(got, want) if not g.same_split(w)]
    if not mismatches:
        return passed(name, f"All {len(got)} layers with weights have the expected trainable split.")
    plain = [pair for pair in mismatches if not pair[0].container]
    shown = plain or mismatches
    lines = [f"layer `{g.path}` ({g.kind}): expected {w.summary()}, received {g.summary()}" for g, w in shown]
    return failed(
        name,
        f"Expected every layer's trainable flag and split to match the reference. "
        f"Received {len(shown)} mismatching layer(s): {_listed(lines)}",
    )


def check_frozen(model: keras.Model, *, name: str = "base is frozen") -> CheckResult:
    """Check that a model (e.g. a pretrained base) is entirely frozen: no trainable weights.

    Returns:
        A failed result naming the layers that still have trainable weights.
    """
    rows = [row for row in describe_trainability(model) if not row.container and row.trainable_params]
    if not rows:
        return passed(name, f"All {count(model.weights):,} parameters of `{model.name}` are frozen.")
    lines = [f"`{row.path}` ({row.kind}, {row.trainable_params:,})" for row in rows]
    return failed(
        name,
        expected_received(
            f"`{model.name}` to have no trainable parameters",
            trainable_params=f"{count(model.trainable_weights):,} in {len(rows)} layer(s): {_listed(lines)}",
        ),
    )
