"""How a Functional model calls its nested models: the arguments recorded in its config."""

from __future__ import annotations

from typing import Any

import keras

from autograder.checks.result import CheckResult, failed, passed


def nested_calls(model: keras.Model) -> list[tuple[str, str, dict[str, Any]]]:
    """(layer name, class name, call kwargs) for each call of a nested model inside `model`."""
    calls = []
    for layer in model.get_config().get("layers", []):
        if layer.get("class_name") in ("Functional", "Sequential", "Model"):
            for node in layer.get("inbound_nodes", []) or []:
                kwargs = node.get("kwargs", {}) if isinstance(node, dict) else {}
                calls.append((layer.get("name", "?"), layer["class_name"], dict(kwargs)))
    return calls


def check_called_in_inference_mode(
    model: keras.Model, *, nested: str = "base", name: str = "base called with training=False", ignore: tuple[str, ...] = ()
) -> CheckResult:
    """Check that the (one) nested base model is called with `training=False`.

    `ignore`: prefixes of the names of nested models that are not the base (e.g. an augmentation block).

    With `training=False` the base's BatchNormalization layers keep using their moving
    statistics even after the top of the base is unfrozen for fine-tuning.
    """
    calls = [c for c in nested_calls(model) if not any(c[0].startswith(prefix) for prefix in ignore)]
    bases = [c for c in calls if "training" in c[2] or c[1] == "Functional"]
    if not bases:
        return failed(name, f"Expected the model to call the pretrained {nested} model. Received: no nested model call")
    layer, _, kwargs = bases[-1]
    if kwargs.get("training") is False:
        return passed(name, f"`{layer}` is called with training=False.")
    return failed(
        name,
        f"Expected the {nested} `{layer}` to be called with training=False, so that BatchNormalization stays in "
        f"inference mode while fine-tuning. Received: training={kwargs.get('training')!r}",
    )
