"""What a probe works with inside the sandboxed worker: its settings, inputs and output folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ProbeContext:
    """The worker's view of one request: settings, input and output folders."""

    def __init__(self, settings: dict, inputs: Path, out: Path) -> None:
        self.settings = settings
        self.inputs = Path(inputs)
        self.out = Path(out)

    def array(self, name: str, key: str) -> np.ndarray:
        with np.load(self.inputs / name, allow_pickle=False) as data:
            return data[key]

    def model(self, name: str):
        import keras  # noqa: PLC0415

        return keras.models.load_model(self.inputs / name, safe_mode=True)

    def save_model(self, model, name: str) -> dict:
        import keras  # noqa: PLC0415

        if not isinstance(model, keras.Model):
            raise TypeError(f"Expected a keras.Model. Received: {type(model).__name__}")
        model.save(self.out / name)
        return {"artifact": name}

    def save_arrays(self, name: str, **arrays) -> dict:
        np.savez(self.out / name, **{k: np.asarray(v) for k, v in arrays.items()})
        return {"artifact": name}


def require_model(value, function: str):
    """`value` if it is a keras.Model; else a TypeError naming the function that returned it."""
    import keras  # noqa: PLC0415

    if not isinstance(value, keras.Model):
        raise TypeError(f"{function} must return a keras.Model. Received: {type(value).__name__}")
    return value


def nested_base(model):
    """The largest nested functional model of `model` (a pretrained base, not an augmentation block)."""
    import keras  # noqa: PLC0415

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model) and not isinstance(layer, keras.Sequential)]
    if not nested:
        raise ValueError("Expected the model to hold the pretrained base as a nested model. Received: none")
    return max(nested, key=lambda layer: len(layer.weights))  # the base, not an augmentation block
