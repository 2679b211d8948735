"""Callback descriptions and the EarlyStopping check."""

import keras
import pytest

from autograder.checks.callbacks import check_early_stopping, describe_callbacks

from .helpers import load_solution


def test_reference_callbacks_pass():
    callbacks = load_solution("fine_tuning").fine_tuning_callbacks(patience=3)
    description = describe_callbacks(callbacks)
    assert description == [
        {
            "class_name": "EarlyStopping",
            "monitor": "val_loss",
            "patience": 3,
            "restore_best_weights": True,
            "mode": "auto",
            "min_delta": 0,
            "baseline": None,
            "start_from_epoch": 0,
        }
    ]
    assert check_early_stopping(description, patience=3).ok


@pytest.mark.parametrize(
    "stopper, received",
    [
        (
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3, restore_best_weights=True),
            "monitor='val_accuracy'",
        ),
        (keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True), "patience=5"),
        (keras.callbacks.EarlyStopping(monitor="val_loss", patience=3), "restore_best_weights=False"),
        (
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True, mode="max"),
            "mode='max'",
        ),
    ],
)
def test_wrong_settings_are_named(stopper, received):
    result = check_early_stopping(describe_callbacks([stopper]), patience=3)
    assert not result.ok
    assert result.message.startswith(
        "Expected EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True)"
    )
    assert f"Received: {received}" in result.message


def test_missing_or_repeated_early_stopping_fails():
    checkpoint = keras.callbacks.ModelCheckpoint("best.keras", monitor="val_loss", save_best_only=True)
    result = check_early_stopping(describe_callbacks(checkpoint))
    assert result.message == "Expected exactly one EarlyStopping callback. Received: callbacks=['ModelCheckpoint']"
    two = [keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)] * 2
    assert not check_early_stopping(describe_callbacks(two)).ok


def test_other_callbacks_allowed_unless_only():
    callbacks = describe_callbacks(
        [
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(),
        ]
    )
    assert check_early_stopping(callbacks).ok
    assert "Expected only an EarlyStopping callback" in check_early_stopping(callbacks, only=True).message


def test_describe_rejects_non_callbacks():
    with pytest.raises(TypeError, match="Received: item 1 of type str"):
        describe_callbacks([keras.callbacks.EarlyStopping(), "val_loss"])
