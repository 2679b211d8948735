"""A model's normalized layer signature, and its comparison with the reference's.

The signature keeps what the lab's docstrings specify (layer kinds in order, Conv filters and
kernel, Dense units, activations, Dropout rates, pooling type, Rescaling scale, RandomFlip
mode, augmentation factors, ...) and drops what does not matter: layer names, Sequential
versus Functional, InputLayers, nesting (nested models are flattened), `Dense(1)` followed by
`Activation("sigmoid")` versus `Dense(1, activation="sigmoid")`, `RandomZoom(0.2)` versus
`RandomZoom((-0.2, 0.2))`.

Layers with weights are compared by kind, settings and weight shapes. A run of consecutive
weightless, stateless layers (no variables, not even a random seed: Rescaling, Activation,
pooling, the `TrueDivide` and `Subtract` nodes that `preprocess_input` adds to a Functional
model, a Normalization given its mean and variance, ...) is compared by what it computes on a
fixed probe input, not by its kinds: `Rescaling(1/127.5, offset=-1)` passes where the reference
has `x / 127.5 - 1`. Random layers (augmentation, Dropout) hold a seed, so they keep their kind.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import keras
import numpy as np

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
    """One entry of a signature: a layer kind, its normalized settings and its weights' shapes.

    `path` is for messages. `operation` and `graph` (the model whose graph or stack calls it) are
    set for weightless, stateless layers only: they let a run of them be compared by what it
    computes.
    """

    kind: str
    attrs: tuple[tuple[str, Any], ...] = ()
    path: str = field(default="", compare=False)
    weights: tuple[tuple[int | None, ...], ...] = ()
    operation: Any = field(default=None, compare=False, repr=False)
    graph: Any = field(default=None, compare=False, repr=False)

    @property
    def computed(self) -> bool:
        """True when the layer is judged by what it computes rather than by its kind."""
        return self.operation is not None

    def describe(self, with_weights: bool = False) -> str:
        """ "Conv2D(filters=32, kernel_size=(3, 3), ...)", with "weights=[(3, 3, 3, 32), (32,)]" if asked."""
        shown = [*self.attrs, ("weights", list(self.weights))] if with_weights else self.attrs
        inner = ", ".join(f"{key}={value}" for key, value in shown)
        return f"{self.kind}({inner})"


def _weightless(operation: Any) -> bool:
    """No variables (weights or seed state), one tensor in, one tensor out, in a symbolic graph."""
    if isinstance(operation, (keras.Model, keras.layers.InputLayer)) or getattr(operation, "variables", None):
        return False
    try:
        tensors = (operation.input, operation.output)
    except (AttributeError, ValueError):  # never called symbolically
        return False
    return all(isinstance(t, keras.KerasTensor) for t in tensors)


def layer_spec(operation: Any, path: str = "", graph: keras.Model | None = None) -> LayerSpec:
    """The normalized signature entry of one layer (or one Keras operation such as TrueDivide).

    `graph`, the model that calls the layer, lets a weightless layer be run on a probe input.
    """
    kind = type(operation).__name__
    keys = SIGNATURE_KEYS.get(kind, ())
    config = operation.get_config() if keys else {}
    values = {key: _normalize(config.get(key)) for key in keys}
    for key in _SYMMETRIC_FACTORS.get(kind, ()):
        if isinstance(values.get(key), (int, float)) and not isinstance(values[key], bool):
            values[key] = (-abs(values[key]), abs(values[key]))
    if kind == "RandomZoom" and values.get("width_factor") is None:
        values["width_factor"] = values.get("height_factor")  # Keras: width follows height
    weights = tuple(tuple(w.shape) for w in getattr(operation, "weights", ()))
    computed = graph is not None and _weightless(operation)
    if not computed:
        return LayerSpec(kind, tuple(values.items()), path, weights)
    return LayerSpec(kind, tuple(values.items()), path, weights, operation, graph)


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
        yield layer_spec(op, path, model)


def _fold_activations(specs: list[LayerSpec]) -> list[LayerSpec]:
    """Merge `Activation(a)` into the layer before it when that layer has weights and a linear activation."""
    out: list[LayerSpec] = []
    for spec in specs:
        previous = dict(out[-1].attrs) if out and not out[-1].computed else {}
        if spec.kind == "Activation" and previous.get("activation") == "linear":
            previous["activation"] = dict(spec.attrs)["activation"]
            out[-1] = replace(out[-1], attrs=tuple(previous.items()))
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


# -- comparing runs of weightless layers by what they compute ---------------------------------


@dataclass(frozen=True)
class _Piece:
    """A layer with weights (or state), or a run of weightless layers that feed one another."""

    specs: tuple[LayerSpec, ...]
    start: int  # index of the first layer in the signature

    @property
    def key(self) -> Any:
        """What the alignment compares: the layer, or one token for every run (checked after)."""
        return "computed run" if self.specs[0].computed else self.specs[0]


def _pieces(specs: Sequence[LayerSpec]) -> list[_Piece]:
    pieces: list[_Piece] = []
    for index, spec in enumerate(specs):
        last = pieces[-1].specs[-1] if pieces else None
        if last is not None and last.computed and spec.computed and last.graph is spec.graph:
            if spec.operation.input is last.operation.output:
                pieces[-1] = _Piece((*pieces[-1].specs, spec), pieces[-1].start)
                continue
        pieces.append(_Piece((spec,), index))
    return pieces


def _fill(value: Any, tensor: Any) -> Any:
    """A recorded call argument with its one tensor replaced by `tensor` and constants restored."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return tensor
    if isinstance(value, dict) and "class_name" in value:  # e.g. a numpy constant
        return keras.saving.deserialize_keras_object(value)
    if isinstance(value, dict):
        return {key: _fill(item, tensor) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_fill(item, tensor) for item in value]
    return value


class _Runner:
    """Runs weightless layers on arrays with the arguments their model's config records."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, list]] = {}

    def _call(self, spec: LayerSpec, x: Any) -> Any:
        if isinstance(spec.graph, keras.Sequential):
            return spec.operation(x)
        if id(spec.graph) not in self._calls:
            layers = spec.graph.get_config().get("layers", [])
            self._calls[id(spec.graph)] = {layer["name"]: layer.get("inbound_nodes", []) for layer in layers}
        nodes = self._calls[id(spec.graph)].get(spec.operation.name, [])
        if len(nodes) != 1:
            raise ValueError(f"Expected one call of `{spec.path}`. Received: calls={len(nodes)}")
        args, kwargs = _fill(nodes[0].get("args", []), x), _fill(nodes[0].get("kwargs", {}), x)
        return spec.operation(*args, **kwargs)

    def run(self, piece: _Piece, x: np.ndarray) -> np.ndarray:
        value: Any = x
        for spec in piece.specs:
            value = self._call(spec, value)
        return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")


def _probe(shape: tuple) -> np.ndarray:
    """Two fixed inputs: pixel-like values in [0, 255], then feature-like values around 0."""
    dims = [8 if d is None else int(d) for d in shape[1:]]
    rng = np.random.default_rng(0)
    return np.stack([rng.uniform(0, 255, dims), rng.standard_normal(dims)]).astype("float32")


def _same_layers(got: _Piece, want: _Piece) -> bool:
    """Same layer classes with the same configs (names aside): then they compute the same."""

    def configs(piece: _Piece) -> list | None:
        if not all(isinstance(s.operation, keras.layers.Layer) for s in piece.specs):
            return None  # an operation's config does not hold its constants
        drop = ("name", "trainable")
        return [(s.kind, {k: v for k, v in s.operation.get_config().items() if k not in drop}) for s in piece.specs]

    mine = configs(got)
    try:
        return mine is not None and bool(mine == configs(want))
    except (TypeError, ValueError):  # arrays in a config: let the probe decide
        return False


def _computes_otherwise(got: _Piece, want: _Piece, runner: _Runner) -> str | None:
    """None when both runs compute the same on the probe, else how the received one differs."""
    if _same_layers(got, want):
        return None
    verb = "computes" if len(got.specs) == 1 else "compute"
    shape_in, want_in = tuple(got.specs[0].operation.input.shape), tuple(want.specs[0].operation.input.shape)
    if shape_in[1:] != want_in[1:]:
        return f"which {verb} on inputs of shape {shape_in[1:]} instead of {want_in[1:]}"
    x = _probe(want_in)
    try:
        received, expected = runner.run(got, x), runner.run(want, x)
    except Exception:  # noqa: BLE001  (a layer that cannot run on a probe is compared by kind)
        return None if got.specs == want.specs else f"which {verb} something else"
    if received.shape != expected.shape:
        return f"which {verb} outputs of shape {received.shape[1:]} instead of {expected.shape[1:]}"
    scale = float(np.nanmax(np.abs(expected), initial=0.0))
    close = np.isclose(received, expected, rtol=1e-4, atol=1e-5 * max(1.0, scale), equal_nan=True)
    if close.all():
        return None
    sample = int(np.argmax(~close.reshape(len(close), -1).all(axis=1)))  # the pixel-like one if it differs
    gap = np.where(close[sample], 0.0, np.nan_to_num(np.abs(received[sample] - expected[sample]), nan=math.inf))
    where = (sample, *np.unravel_index(int(np.argmax(gap)), gap.shape))
    got_value, want_value = f"{received[where]:.4g}", f"{expected[where]:.4g}"
    if received.shape == x.shape:  # elementwise: show the input value too
        return f"which {verb} something else: on a probe input, {x[where]:.4g} gives {got_value} instead of {want_value}"
    return f"which {verb} something else on a probe input: {got_value} instead of {want_value} at {where[1:]}"


def _listed(specs: Sequence[LayerSpec], with_paths: bool) -> str:
    shown = [f"`{spec.path}` {spec.describe()}" if with_paths else spec.describe() for spec in specs[:3]]
    return ", ".join(shown) + (f" and {len(specs) - 3} more" if len(specs) > 3 else "")


def _specs(pieces: Sequence[_Piece]) -> list[LayerSpec]:
    return [spec for piece in pieces for spec in piece.specs]


def _replaced(got: _Piece, want: _Piece) -> str:
    """The message for a layer (or run) where the reference has another."""
    position = f"position {want.start + 1}"
    (mine, *more), (theirs, *others) = got.specs, want.specs
    if not more and not others and (mine.kind, mine.attrs) == (theirs.kind, theirs.attrs):  # only weights differ
        return expected_received(f"{theirs.describe(True)} at {position}", layer=f"`{mine.path}` {mine.describe(True)}")
    shown = {"layers" if more else "layer": _listed(got.specs, True)}
    return expected_received(f"{_listed(want.specs, False)} at {position}", **shown)


def compare_signatures(received: Sequence[LayerSpec], expected: Sequence[LayerSpec]) -> str | None:
    """None when equal, else a message about the first difference, its position and layer.

    Positions count from 1 in the expected signature. A block of layers missing or added is
    reported as such rather than as a run of different layers. Runs of weightless layers match
    when they compute the same on a probe input (see the module docstring).
    """
    got, want = _pieces(received), _pieces(expected)
    runner = _Runner()
    matcher = difflib.SequenceMatcher(a=[p.key for p in got], b=[p.key for p in want], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for mine, theirs in zip(got[i1:i2], want[j1:j2]):
                detail = _computes_otherwise(mine, theirs, runner) if mine.specs[0].computed else None
                if detail is not None:
                    where = f"{_listed(theirs.specs, False)} at position {theirs.start + 1}"
                    shown = {"layers" if len(mine.specs) > 1 else "layer": f"{_listed(mine.specs, True)}, {detail}"}
                    return expected_received(f"{where}, or layers that compute the same", **shown)
            continue
        if tag == "delete":  # layers in the submission that the reference does not have
            then = (
                f"{_listed(want[j1].specs, False)} at position {want[j1].start + 1}"
                if j1 < len(want)
                else f"the model to end after {len(expected)} layers"
            )
            return expected_received(then, extra_layers=_listed(_specs(got[i1:i2]), True))
        if tag == "insert":  # reference layers that the submission lacks
            first = got[i1].specs[0] if i1 < len(got) else None
            found = f"`{first.path}` {first.describe()}" if first else "the end of the model"
            missing = _specs(want[j1:j2])
            return expected_received(
                f"{_listed(missing, False)} at position {want[j1].start + 1}",
                missing_layers=len(missing),
                found_instead=found,
            )
        return _replaced(got[i1], want[j1])
    return None


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
