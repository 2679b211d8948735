"""A reference model as the public checks know it on a student's machine, without the model.

`course release` runs the lab's probes on the reference solution and keeps, of every model a
public check compares with, its parameter counts and its layer-by-layer trainability
(`checks/reference.json`): numbers and layer descriptions, never solution code. The checks
that compare counts or trainability take a `ModelSummary` wherever they take a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.checks.parameters import ParameterCounts, parameter_counts
from autograder.checks.trainability import LayerTrainability, describe_trainability


@dataclass(frozen=True)
class ModelSummary:
    """A model's parameter counts and its trainability rows (`describe_trainability`)."""

    counts: ParameterCounts
    rows: tuple[LayerTrainability, ...]

    @classmethod
    def of(cls, model) -> ModelSummary:
        return cls(parameter_counts(model), tuple(describe_trainability(model)))
