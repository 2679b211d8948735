"""Compile settings: loss, optimizer and learning rate, metrics, and whether the model was
compiled again after its trainability changed.

`describe_compile` turns a live (or loaded) model into a plain dict; every check accepts that
dict or the model itself.

Compiled again? In Keras 3 an optimizer is built, on the first training step after `compile`,
for the variables that are trainable at that moment, and it keeps that list until the next
`compile` (a new optimizer). The train function traced at the same time keeps updating that
same set. So "the optimizer is built, and the variables it was built for are not the model's
trainable variables now" means: the trainability changed after the model last trained and it
was not compiled since. A model compiled after the change has a fresh, unbuilt optimizer; one
whose flags changed between `compile` and its first training step is also fine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras

from autograder.checks._layers import variable_keys
from autograder.checks.result import CheckResult, expected_received, failed, passed

MAX_LISTED = 5
# Names that mean the same metric for one sigmoid output trained with binary cross-entropy:
# Keras resolves "accuracy" to BinaryAccuracy there.
ACCURACY_NAMES = frozenset({"accuracy", "binary_accuracy"})


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _loss_name(config: Any) -> tuple[str | None, bool | None]:
    """(class name, from_logits) of a serialized loss: a string, a class dict or a function dict."""
    if config is None:
        return None, None
    if isinstance(config, dict) and config.get("class_name") == "function":
        config = config.get("config")
    if isinstance(config, str):
        try:
            loss = keras.losses.get(config)
        except ValueError:
            return config, None
        if isinstance(loss, keras.losses.Loss):
            return type(loss).__name__, bool(loss.get_config().get("from_logits", False))
        return _camel(getattr(loss, "__name__", config)), False
    if isinstance(config, dict):
        inner = config.get("config") or {}
        return str(config.get("class_name")), bool(inner.get("from_logits", False)) if isinstance(inner, dict) else None
    return repr(config), None


def _metric_name(config: Any) -> str:
    """A canonical metric name: "acc" -> "accuracy", BinaryAccuracy() -> "binary_accuracy"."""
    if isinstance(config, str):
        return "accuracy" if config in ("acc", "accuracy") else config
    if isinstance(config, dict):
        class_name = str(config.get("class_name"))
        if class_name == "function":
            return _metric_name(config.get("config"))
        inner = config.get("config") or {}
        name = {"BinaryAccuracy": "binary_accuracy", "Accuracy": "exact_accuracy"}.get(class_name, class_name)
        threshold = inner.get("threshold", 0.5) if isinstance(inner, dict) else 0.5
        return name if threshold in (0.5, None) or name != "binary_accuracy" else f"{name}(threshold={threshold})"
    return repr(config)


def _flat_metrics(config: Any) -> list[Any]:
    if config is None:
        return []
    if isinstance(config, dict) and "class_name" not in config:  # per-output metrics
        return [m for value in config.values() for m in _flat_metrics(value)]
    if isinstance(config, (list, tuple)):
        return [m for value in config for m in _flat_metrics(value)]
    return [config]


def describe_compile(model: keras.Model) -> dict[str, Any]:
    """The model's compile settings as a plain dict.

    Keys: compiled, loss (class name, e.g. "BinaryCrossentropy"), from_logits, optimizer (class
    name), learning_rate (float; the current rate for a schedule), learning_rate_schedule
    (class name or None), metrics (canonical names), optimizer_built, trainable_not_in_optimizer
    and optimizer_not_trainable (variable paths; both empty unless the trainability changed
    after the model last trained without a new compile; None if this Keras does not say),
    train_function (a train function was traced since the last compile).
    """
    compiled = bool(getattr(model, "compiled", False))
    config = (model.get_compile_config() or {}) if compiled else {}
    loss, from_logits = _loss_name(config.get("loss"))
    optimizer = getattr(model, "optimizer", None) if compiled else None
    learning_rate = schedule = None
    built = False
    added: list[str] | None = []
    removed: list[str] | None = []
    if optimizer is not None:
        rate = optimizer.get_config().get("learning_rate")
        if isinstance(rate, dict):
            schedule = str(rate.get("class_name"))
        learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        built = bool(getattr(optimizer, "built", False))
        # Keras 3 keeps the variables an optimizer was built for in `_trainable_variables`; there
        # is no public accessor. Without it (another Keras), say "unknown" rather than guess.
        tracked = getattr(optimizer, "_trainable_variables", None)
        if built and tracked is None:
            added = removed = None
        elif built:
            tracked = list(tracked)
            trainable = list(model.trainable_variables)
            tracked_ids, trainable_ids = {id(v) for v in tracked}, {id(v) for v in trainable}
            added = [k for k, v in zip(variable_keys(trainable), trainable) if id(v) not in tracked_ids]
            removed = [k for k, v in zip(variable_keys(tracked), tracked) if id(v) not in trainable_ids]
    return {
        "compiled": compiled,
        "loss": loss,
        "from_logits": from_logits,
        "optimizer": type(optimizer).__name__ if optimizer is not None else None,
        "learning_rate": learning_rate,
        "learning_rate_schedule": schedule,
        "metrics": [_metric_name(m) for m in _flat_metrics(config.get("metrics"))],
        "optimizer_built": built,
        "trainable_not_in_optimizer": added,
        "optimizer_not_trainable": removed,
        "train_function": getattr(model, "train_function", None) is not None,
    }


def _description(value: keras.Model | Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else describe_compile(value)


def _not_compiled(name: str, description: Mapping[str, Any]) -> CheckResult | None:
    if description.get("compiled"):
        return None
    return failed(name, expected_received("a compiled model", compiled=False))


def check_loss(
    compiled: keras.Model | Mapping[str, Any],
    loss: str = "BinaryCrossentropy",
    from_logits: bool = False,
    *,
    name: str = "loss",
) -> CheckResult:
    """Check the loss class (strings and functions count as their class) and `from_logits`."""
    d = _description(compiled)
    if (result := _not_compiled(name, d)) is not None:
        return result
    if d["loss"] != loss or bool(d["from_logits"]) != from_logits:
        return failed(
            name,
            expected_received(f"loss {loss}(from_logits={from_logits})", loss=d["loss"], from_logits=d["from_logits"]),
        )
    return passed(name, f"{loss}(from_logits={from_logits})")


def check_optimizer(
    compiled: keras.Model | Mapping[str, Any],
    optimizer: str,
    learning_rate: float,
    *,
    rel_tol: float = 1e-4,
    name: str = "optimizer and learning rate",
) -> CheckResult:
    """Check the optimizer class and its learning rate (relative tolerance `rel_tol`)."""
    d = _description(compiled)
    if (result := _not_compiled(name, d)) is not None:
        return result
    rate = d["learning_rate"]
    if d["optimizer"] != optimizer or rate is None or not math.isclose(rate, learning_rate, rel_tol=rel_tol):
        schedule = f" ({d['learning_rate_schedule']})" if d.get("learning_rate_schedule") else ""
        return failed(
            name,
            expected_received(
                f"optimizer {optimizer} with learning_rate={learning_rate:g}",
                optimizer=d["optimizer"],
                learning_rate=f"{rate:g}{schedule}" if rate is not None else None,
            ),
        )
    return passed(name, f"{optimizer}(learning_rate={learning_rate:g})")


def check_metrics(
    compiled: keras.Model | Mapping[str, Any],
    metrics: Sequence[str] = ("accuracy",),
    *,
    allow_extra: bool = True,
    name: str = "metrics",
) -> CheckResult:
    """Check that the model tracks each of `metrics` ("accuracy" and "binary_accuracy" agree)."""
    d = _description(compiled)
    if (result := _not_compiled(name, d)) is not None:
        return result
    got = list(d["metrics"])

    def same(a: str, b: str) -> bool:
        return a == b or (a in ACCURACY_NAMES and b in ACCURACY_NAMES)

    missing = [m for m in metrics if not any(same(m, g) for g in got)]
    extra = [g for g in got if not any(same(m, g) for m in metrics)]
    if missing or (extra and not allow_extra):
        return failed(name, expected_received(f"metrics {list(metrics)}", metrics=got))
    return passed(name, f"metrics {got}")


def check_compile_settings(
    compiled: keras.Model | Mapping[str, Any],
    *,
    optimizer: str,
    learning_rate: float,
    loss: str = "BinaryCrossentropy",
    from_logits: bool = False,
    metrics: Sequence[str] = ("accuracy",),
) -> list[CheckResult]:
    """The lab's compile settings at once: the loss, the optimizer with its rate, the metrics.

    Returns three results named "loss", "optimizer and learning rate" and "metrics" (a check
    reports them under its own name, e.g. "compile_model: compile settings (loss)").
    """
    return [
        check_loss(compiled, loss, from_logits, name="loss"),
        check_optimizer(compiled, optimizer, learning_rate, name="optimizer and learning rate"),
        check_metrics(compiled, metrics, name="metrics"),
    ]


def check_recompiled(
    compiled: keras.Model | Mapping[str, Any],
    *,
    name: str = "compiled again after changing trainability",
) -> CheckResult:
    """Check that the model was compiled after its trainability last changed (see the module doc)."""
    d = _description(compiled)
    if (result := _not_compiled(name, d)) is not None:
        return result
    if d["trainable_not_in_optimizer"] is None or d["optimizer_not_trainable"] is None:
        return passed(name, "Not checked: this Keras version does not tell which variables the optimizer tracks.")
    added, removed = list(d["trainable_not_in_optimizer"]), list(d["optimizer_not_trainable"])
    if not added and not removed:
        return passed(name, "The optimizer is fresh or tracks exactly the trainable variables.")

    def listed(keys: list[str]) -> str:
        return ", ".join(keys[:MAX_LISTED]) + (f" and {len(keys) - MAX_LISTED} more" if len(keys) > MAX_LISTED else "")

    received = []
    if added:
        received.append(f"{len(added)} trainable now but unknown to its optimizer ({listed(added)})")
    if removed:
        received.append(f"{len(removed)} frozen now but still trained by its optimizer ({listed(removed)})")
    return failed(
        name,
        "Expected model.compile(...) to be called again after `trainable` changed. Received: the model "
        f"trained before the change and was not compiled since: {'; '.join(received)}",
    )


def check_compile_settings_on(
    models: Mapping[str, keras.Model | Mapping[str, Any] | tuple[keras.Model | Mapping[str, Any], float]],
    *,
    learning_rate: float | None = None,
    **settings: Any,
) -> list[CheckResult]:
    """`check_compile_settings` on several models compiled by the same function, at once.

    A compile function is judged on every model it compiled: the one the grader gave it to
    probe its settings, and the ones the grader then trains. A function that answers one way
    when it recognises a probe and another way for the real model fails here, naming the
    model. Returns the same three results as `check_compile_settings`.

    Args:
        models: a label for each model (e.g. "the model the grader trains") -> the model (or its
            `describe_compile` dict), or a pair (model, the rate it was compiled for): a probe
            called with an off-profile `learning_rate` must follow it.
        learning_rate: the rate of every model given without one.
        settings: `check_compile_settings`'s other keywords (optimizer, loss, ...).
    """
    pairs = {label: value if isinstance(value, tuple) else (value, learning_rate) for label, value in models.items()}
    unknown = [label for label, (_, rate) in pairs.items() if rate is None]
    if unknown:
        raise ValueError(f"Expected a learning rate for every model (a (model, rate) pair or learning_rate=). Received: none for {unknown}")
    per_model = {
        label: check_compile_settings(model, learning_rate=rate, **settings) for label, (model, rate) in pairs.items()
    }
    combined = []
    for index, first in enumerate(next(iter(per_model.values()))):
        failures = [(label, results[index]) for label, results in per_model.items() if not results[index].ok]
        if not failures:
            combined.append(first)
            continue
        if len(per_model) == 1:
            combined.append(failures[0][1])
            continue
        label, result = failures[0]
        combined.append(failed(first.name, f"On {label}: {result.message}"))
    return combined
