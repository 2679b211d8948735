"""Callbacks: a plain description of them, and the EarlyStopping check of the fine-tuning part.

`describe_callbacks` turns real Keras callback objects into plain dicts such as
{"class_name": "EarlyStopping", "monitor": "val_loss", "patience": 3,
"restore_best_weights": True, "mode": "auto", ...}; the checks read only those dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras

from autograder.checks.result import CheckResult, expected_received, failed, passed

# The settings worth describing, per callback class; other classes get their class name only.
DESCRIBED: dict[str, tuple[str, ...]] = {
    "EarlyStopping": (
        "monitor",
        "patience",
        "restore_best_weights",
        "mode",
        "min_delta",
        "baseline",
        "start_from_epoch",
    ),
    "ModelCheckpoint": ("monitor", "filepath", "save_best_only", "save_weights_only", "mode"),
    "ReduceLROnPlateau": ("monitor", "factor", "patience", "min_lr", "mode"),
    "LearningRateScheduler": (),
}
# The modes under which "lower is better", as for a loss.
_MIN_MODES = ("auto", "min")


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else repr(value)


def describe_callback(callback: keras.callbacks.Callback) -> dict[str, Any]:
    """One callback as a plain dict: its class name and the settings listed in `DESCRIBED`."""
    kind = type(callback).__name__
    description: dict[str, Any] = {"class_name": kind}
    for key in DESCRIBED.get(kind, ()):
        if hasattr(callback, key):
            description[key] = _plain(getattr(callback, key))
    return description


def describe_callbacks(callbacks: Any) -> list[dict[str, Any]]:
    """Describe a list (or tuple) of callbacks; a single callback counts as a list of one.

    Raises:
        TypeError: an item is not a Keras callback.
    """
    items = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    for index, item in enumerate(items):
        if not isinstance(item, keras.callbacks.Callback):
            raise TypeError(
                f"Expected a list of keras.callbacks.Callback. Received: item {index} of type {type(item).__name__}"
            )
    return [describe_callback(item) for item in items]


def check_early_stopping(
    callbacks: Sequence[Mapping[str, Any]],
    *,
    monitor: str = "val_loss",
    patience: int = 3,
    restore_best_weights: bool = True,
    only: bool = False,
    name: str = "EarlyStopping on the validation loss",
) -> CheckResult:
    """Check for exactly one EarlyStopping with the requested monitor, patience and restoring.

    Args:
        callbacks: descriptions from `describe_callbacks`.
        monitor: the quantity it must watch; for a loss the mode must be "auto" or "min".
        patience: the exact patience requested.
        restore_best_weights: the required value of `restore_best_weights`.
        only: require EarlyStopping to be the only callback.
        name: the result's name.
    """
    kinds = [c.get("class_name") for c in callbacks]
    stoppers = [c for c in callbacks if c.get("class_name") == "EarlyStopping"]
    if len(stoppers) != 1:
        return failed(name, expected_received("exactly one EarlyStopping callback", callbacks=kinds))
    if only and len(callbacks) != 1:
        return failed(name, expected_received("only an EarlyStopping callback", callbacks=kinds))
    stopper = stoppers[0]
    problems = {}
    if stopper.get("monitor") != monitor:
        problems["monitor"] = repr(stopper.get("monitor"))
    if stopper.get("patience") != patience:
        problems["patience"] = stopper.get("patience")
    if bool(stopper.get("restore_best_weights")) != restore_best_weights:
        problems["restore_best_weights"] = stopper.get("restore_best_weights")
    if "loss" in monitor and stopper.get("mode", "auto") not in _MIN_MODES:
        problems["mode"] = repr(stopper.get("mode"))
    if problems:
        wanted = f"EarlyStopping(monitor={monitor!r}, patience={patience}, restore_best_weights={restore_best_weights})"
        if "mode" in problems:
            wanted += " with mode 'auto' or 'min'"
        return failed(name, expected_received(wanted, **problems))
    return passed(
        name, f"EarlyStopping(monitor={monitor!r}, patience={patience}, restore_best_weights={restore_best_weights})"
    )
