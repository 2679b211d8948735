"""Walking a Keras model's layers, nested models included, and naming its variables.

Shared by the trainability, probe and architecture checks so that they all see the same
layers in the same order under the same paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import keras
import numpy as np


@dataclass(frozen=True)
class WalkedLayer:
    """A layer met while walking a model: its path ("base/Conv1"), the layer, and its depth."""

    path: str
    layer: keras.layers.Layer
    depth: int

    @property
    def is_container(self) -> bool:
        """True for a nested model (a Sequential or Functional inside the model)."""
        return isinstance(self.layer, keras.Model)


def children(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The direct sublayers of a nested model, InputLayers left out; [] for a plain layer."""
    if not isinstance(layer, keras.Model):
        return []
    return [child for child in layer.layers if not isinstance(child, keras.layers.InputLayer)]


def walk(model: keras.layers.Layer) -> Iterator[WalkedLayer]:
    """Every layer under `model` in order (parents before their sublayers), the model excluded."""

    def visit(layer: keras.layers.Layer, prefix: str, depth: int) -> Iterator[WalkedLayer]:
        for child in children(layer):
            path = f"{prefix}{child.name}"
            yield WalkedLayer(path, child, depth)
            yield from visit(child, f"{path}/", depth + 1)

    yield from visit(model, "", 0)


def count(variables: list) -> int:
    """The number of scalars in a list of variables."""
    return int(sum(int(np.prod(v.shape)) for v in variables))


def variable_owners(model: keras.layers.Layer) -> dict[int, WalkedLayer]:
    """Map id(variable) to the innermost walked layer that holds it."""
    owners: dict[int, WalkedLayer] = {}
    for walked in walk(model):
        for variable in walked.layer.weights:
            owners[id(variable)] = walked  # later (deeper) layers overwrite their parents
    return owners


def variable_keys(variables: list) -> list[str]:
    """A unique key per variable: its path, with "#2", "#3", ... added to repeated paths."""
    keys, seen = [], {}
    for variable in variables:
        path = getattr(variable, "path", None) or variable.name
        seen[path] = seen.get(path, 0) + 1
        keys.append(path if seen[path] == 1 else f"{path}#{seen[path]}")
    return keys


def to_numpy(variable) -> np.ndarray:
    """A writable copy of a variable's current value."""
    return np.array(keras.ops.convert_to_numpy(variable.value), copy=True)
