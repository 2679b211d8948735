"""Was an argument followed? A graded function called with an off-profile value must use it.

A function that hard-codes the profile's value (or keeps its own default when that equals the
profile's) passes every check made at the profile's values. The grader therefore also calls it
with a value no profile uses and reads, from the returned model itself, what it built.

Example:
    >>> check_layer_setting(model, "Dropout", "rate", 0.13, argument="dropout")
"""

from __future__ import annotations

import keras

from autograder.checks._layers import walk
from autograder.checks.result import CheckResult, failed, passed


def check_layer_setting(
    model: keras.Model, layer_class: str, setting: str, expected: float, *, argument: str, name: str = "follows its argument"
) -> CheckResult:
    """Every `layer_class` layer of `model` (nested ones too) has `setting` == `expected`.

    Args:
        model: what the graded function returned when called with `argument=expected`.
        layer_class: the class name of the layers that carry the setting (e.g. "Dropout").
        setting: the key of their config (e.g. "rate").
        expected: the off-profile value the grader passed.
        argument: the function's argument, named in the message.
    """
    found = [w for w in walk(model) if type(w.layer).__name__ == layer_class]
    if not found:
        return failed(
            name,
            f"Expected a {layer_class} layer with {setting}={expected:g} ({argument}={expected:g} was passed). Received: no {layer_class} layer",
        )
    values = {w.path: w.layer.get_config().get(setting) for w in found}
    wrong = {path: value for path, value in values.items() if not isinstance(value, (int, float)) or abs(float(value) - expected) > 1e-6}
    if wrong:
        shown = ", ".join(f"`{path}` {setting}={value}" for path, value in list(wrong.items())[:4])
        return failed(
            name,
            f"Expected {layer_class} {setting}={expected:g}: the function was called with {argument}={expected:g}. "
            f"Received: {shown} (is the value hard-coded?)",
        )
    return passed(name, f"{layer_class} {setting}={expected:g}, as passed in {argument}")
