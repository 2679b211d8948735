"""A model's normalized layer signature, and its comparison with the reference's.

The signature keeps what the lab's docstrings specify (layer kinds in order, Conv filters and
kernel, Dense units, activations, Dropout rates, pooling type, Rescaling scale, RandomFlip
mode, augmentation factors, ...) and drops what does not matter: layer names, Sequential
versus Functional, InputLayers, nesting (nested models are flattened), `Dense(1)` followed by
`Activation("sigmoid")` versus `Dense(1, activation="sigmoid")`, `RandomZoom(0.2)` versus
`RandomZoom((-0.2, 0.2))`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras

from autograder.checks._layers import children
from autograder.checks.result import CheckResult, expected_received, failed, passed

_CONV = ("filters", "kernel_size", "strides", "padding", "dilation_rate", "activation")
_POOL = ("pool_size", "strides", "padding")
_GLOBAL_POOL = ("keepdims",)

SIGNATURE_KEYS: dict[str, tuple[str, ...]] = {
    **{kind: _CONV for kind in ("Conv1D", "Conv2D", "Conv3D", "SeparableConv2D", "Conv2DTranspose")},
    "DepthwiseConv2D": ("kernel_size", "strides", "padding", "depth_multiplier", "activation"),
    "Dense": ("units", "activation"),
    **{kind: ("rate",) for kind in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "AlphaDropout")},
    "GaussianNoise": ("stddev",),
    **{f"{p}Pooling{d}D": _POOL for p in ("Max", "Average") for d in (1, 2, 3)},
    **{f"Global{p}Pooling{d}D": _GLOBAL_POOL for p in ("Max", "Average") for d in (1, 2, 3)},
    "Rescaling": ("scale", "offset"),
    "Resizing": ("height", "width", "interpolation", "crop_to_aspect_ratio"),
    "CenterCrop": ("height", "width"),
    "RandomCrop": ("height", "width"),
    "RandomFlip": ("mode",),
    "RandomTranslation": ("height_factor", "width_factor"),
    "RandomZoom": ("height_factor", "width_factor"),
    "RandomRotation": ("factor",),
    "RandomContrast": ("factor",),
    "RandomBrightness": ("factor",),
    "Activation": ("activation",),
    "ReLU": ("max_value", "negative_slope", "threshold"),
    "LeakyReLU": ("negative_slope",),
    "BatchNormalization": ("axis", "center", "scale"),
    "LayerNormalization": ("axis",),
    "Reshape": ("target_shape",),
    "ZeroPadding2D": ("padding",),
    "Concatenate": ("axis",),
}
# Factors that Keras accepts as f or (-f, f) with the same meaning.
_SYMMETRIC_FACTORS = {
    "RandomTranslation": ("height_factor", "width_factor"),
    "RandomZoom": ("height_factor", "width_factor"),
    "RandomRotation": ("factor",),
}


def _normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_normalize(v) for v in value)
    if isinstance(value, dict):  # a serialized object: its class (and registered name)
        return str(value.get("registered_name") or value.get("class_name") or sorted(value))
    return repr(value)


@dataclass(frozen=True)
class LayerSpec:
    """One entry of a signature: a layer kind and its normalized settings; `path` is for messages."""

    kind: str
    attrs: tuple[tuple[str, Any], ...] = ()
    path: str = field(default="", compare=False)

    def describe(self) -> str:
        """ "Conv2D(filters=32, kernel_size=(3, 3), ...)"."""
        inner = ", ".join(f"{key}={value}" for key, value in self.attrs)
        return f"{self.kind}({inner})"


def layer_spec(operation: Any, path: str = "") -> LayerSpec:
    """The normalized signature entry of one layer (or one Keras operation such as TrueDivide)."""
    kind = type(operation).__name__
    keys = SIGNATURE_KEYS.get(kind, ())
    config = operation.get_config() if keys else {}
    values = {key: _normalize(config.get(key)) for key in keys}
    for key in _SYMMETRIC_FACTORS.get(kind, ()):
        if isinstance(values.get(key), (int, float)) and not isinstance(values[key], bool):
            values[key] = (-abs(values[key]), abs(values[key]))
    if kind == "RandomZoom" and values.get("width_factor") is None:
        values["width_factor"] = values.get("height_factor")  # Keras: width follows height
    return LayerSpec(kind, tuple(values.items()), path)


def _operations(model: keras.Model) -> list[Any]:
    ops = getattr(model, "operations", None)
    return list(ops) if ops is not None else list(model.layers)


def _flatten(model: keras.Model, prefix: str, expand_nested: bool) -> Iterator[LayerSpec]:
    for op in _operations(model):
        if isinstance(op, keras.layers.InputLayer):
            continue
        path = f"{prefix}{op.name}"
        if isinstance(op, keras.Model):
            if expand_nested:
                yield from _flatten(op, f"{path}/", expand_nested)
            else:
                yield LayerSpec("Model", (("layers", len(children(op))), ("params", op.count_params())), path)
            continue
        yield layer_spec(op, path)


def _fold_activations(specs: list[LayerSpec]) -> list[LayerSpec]:
    """Merge `Activation(a)` into the layer before it when that layer's activation is linear."""
    out: list[LayerSpec] = []
    for spec in specs:
        previous = dict(out[-1].attrs) if out else {}
        if spec.kind == "Activation" and previous.get("activation") == "linear":
            previous["activation"] = dict(spec.attrs)["activation"]
            out[-1] = LayerSpec(out[-1].kind, tuple(previous.items()), out[-1].path)
        else:
            out.append(spec)
    return out


def layer_signature(model: keras.Model, *, expand_nested: bool = True, ignore: Collection[str] = ()) -> list[LayerSpec]:
    """The model's normalized signature: one `LayerSpec` per layer, in order.

    Args:
        model: a Keras model (Sequential or Functional).
        expand_nested: flatten nested models into their layers (default), or show each as one
            "Model(layers=..., params=...)" entry.
        ignore: layer kinds to leave out (e.g. {"Dropout"}).
    """
    specs = [spec for spec in _flatten(model, "", expand_nested) if spec.kind not in ignore]
    return _fold_activations(specs)


def _listed(specs: Sequence[LayerSpec], with_paths: bool) -> str:
    shown = [f"`{spec.path}` {spec.describe()}" if with_paths else spec.describe() for spec in specs[:3]]
    return ", ".join(shown) + (f" and {len(specs) - 3} more" if len(specs) > 3 else "")


def compare_signatures(received: Sequence[LayerSpec], expected: Sequence[LayerSpec]) -> str | None:
    """None when equal, else a message about the first difference, its position and layer.

    Positions count from 1 in the expected signature. A block of layers missing or added is
    reported as such rather than as a run of different layers.
    """
    got, want = list(received), list(expected)
    if got == want:
        return None
    matcher = difflib.SequenceMatcher(a=got, b=want, autojunk=False)
    tag, i1, i2, j1, j2 = next(op for op in matcher.get_opcodes() if op[0] != "equal")
    position = f"position {j1 + 1}"
    if tag == "delete":  # layers in the submission that the reference does not have
        then = (
            f"{want[j1].describe()} at {position}" if j1 < len(want) else f"the model to end after {len(want)} layers"
        )
        return expected_received(then, extra_layers=_listed(got[i1:i2], True))
    if tag == "insert":  # reference layers that the submission lacks
        found = f"`{got[i1].path}` {got[i1].describe()}" if i1 < len(got) else "the end of the model"
        return expected_received(
            f"{_listed(want[j1:j2], False)} at {position}", missing_layers=j2 - j1, found_instead=found
        )
    return expected_received(f"{want[j1].describe()} at {position}", layer=f"`{got[i1].path}` {got[i1].describe()}")


def check_architecture(
    received: keras.Model | Sequence[LayerSpec],
    expected: keras.Model | Sequence[LayerSpec],
    *,
    expand_nested: bool = True,
    ignore: Collection[str] = (),
    name: str = "architecture",
) -> CheckResult:
    """Compare the model's layer signature with the reference's; report the first difference.

    Args:
        received: the submission's model or its `layer_signature`.
        expected: the reference model or its signature.
        expand_nested: see `layer_signature`.
        ignore: layer kinds left out of both signatures.
        name: the result's name.
    """

    def signature(value: keras.Model | Sequence[LayerSpec]) -> list[LayerSpec]:
        if isinstance(value, (list, tuple)):
            return [spec for spec in value if spec.kind not in ignore]
        return layer_signature(value, expand_nested=expand_nested, ignore=ignore)

    got, want = signature(received), signature(expected)
    problem = compare_signatures(got, want)
    if problem is not None:
        return failed(name, problem)
    return passed(name, f"{len(got)} layers, as in the reference.")
