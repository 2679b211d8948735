"""Compile settings: loss, optimizer, learning rate, metrics, and compiled-again detection."""

import keras
import pytest

from autograder.checks.compile_settings import (
    check_compile_settings,
    check_compile_settings_on,
    check_loss,
    check_metrics,
    check_optimizer,
    check_recompiled,
    describe_compile,
)

from .helpers import compile_binary, tiny_base, tiny_transfer


def small_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))


@pytest.mark.parametrize(
    "loss, metrics",
    [
        (keras.losses.BinaryCrossentropy(), ["accuracy"]),
        ("binary_crossentropy", ["acc"]),
        (keras.losses.binary_crossentropy, [keras.metrics.BinaryAccuracy()]),
    ],
)
def test_equivalent_spellings_pass(loss, metrics):
    model = small_model()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), loss=loss, metrics=metrics)
    description = describe_compile(model)
    assert (description["loss"], description["from_logits"], description["optimizer"]) == (
        "BinaryCrossentropy",
        False,
        "RMSprop",
    )
    for result in (check_loss(description), check_optimizer(description, "RMSprop", 1e-4), check_metrics(description)):
        assert result.ok, result.message


def test_wrong_settings_fail_with_expected_and_received():
    model = small_model()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.AUC()],
    )
    assert check_loss(model).message == (
        "Expected loss BinaryCrossentropy(from_logits=False). Received: loss=BinaryCrossentropy, from_logits=True"
    )
    assert check_optimizer(model, "RMSprop", 1e-4).message == (
        "Expected optimizer RMSprop with learning_rate=0.0001. Received: optimizer=Adam, learning_rate=0.001"
    )
    assert check_optimizer(model, "Adam", 1e-4).message.endswith("optimizer=Adam, learning_rate=0.001")
    assert check_metrics(model).message == "Expected metrics ['accuracy']. Received: metrics=['AUC']"


def test_compile_settings_check_all_three_at_once():
    model = small_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    results = check_compile_settings(model, optimizer="RMSprop", learning_rate=1e-3)
    assert [(r.name, r.ok) for r in results] == [("loss", True), ("optimizer and learning rate", False), ("metrics", True)]
    assert "Received: optimizer=Adam" in results[1].message
    assert all(r.ok for r in check_compile_settings(model, optimizer="Adam", learning_rate=1e-3))


def test_a_compile_function_must_follow_its_learning_rate_argument():
    """Called with an off-profile rate, a function that keeps Adam's default fails on that model."""
    probed, trained = small_model(), small_model()
    for model in (probed, trained):  # what a compile function that ignores learning_rate does
        model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy", metrics=["accuracy"])
    results = check_compile_settings_on(
        {"the probe (learning_rate=0.00037)": (probed, 0.00037), "the trained model": (trained, 1e-3)}, optimizer="Adam"
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].message.startswith("On the probe (learning_rate=0.00037): Expected optimizer Adam with learning_rate=0.00037")
    probed.compile(optimizer=keras.optimizers.Adam(0.00037), loss="binary_crossentropy", metrics=["accuracy"])
    followed = check_compile_settings_on({"probe": (probed, 0.00037), "trained": (trained, 1e-3)}, optimizer="Adam")
    assert all(r.ok for r in followed)
    with pytest.raises(ValueError, match=r"Expected a learning rate for every model.*\['trained'\]"):
        check_compile_settings_on({"probe": (probed, 0.00037), "trained": trained}, optimizer="Adam")


def test_extra_metrics_allowed_unless_forbidden():
    model = small_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc"])
    assert check_metrics(model).ok
    assert not check_metrics(model, allow_extra=False).ok


def test_learning_rate_schedule_is_named():
    model = small_model()
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy")
    result = check_optimizer(model, "Adam", 1e-5)
    assert not result.ok and "(ExponentialDecay)" in result.message


def test_uncompiled_model_fails_every_check():
    model = small_model()
    for check in (check_loss, check_metrics, check_recompiled):
        assert check(model).message == "Expected a compiled model. Received: compiled=False"


def test_recompiled_detection(images_labels):
    x, y = images_labels
    base = tiny_base()
    model = compile_binary(tiny_transfer(base))
    assert check_recompiled(model).ok  # compiled, never trained: the optimizer is not built yet
    base.trainable = False
    assert check_recompiled(model).ok  # flags changed before the first training step: fine
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert check_recompiled(model).ok
    base.trainable = True
    result = check_recompiled(model)
    assert not result.ok
    assert "Expected model.compile(...) to be called again after `trainable` changed." in result.message
    assert "trainable now but unknown to its optimizer" in result.message and "conv_a/kernel" in result.message
    compile_binary(model)
    assert check_recompiled(model).ok


def test_loaded_model_is_described(tmp_path, images_labels):
    x, y = images_labels
    model = compile_binary(tiny_transfer(tiny_base()), optimizer="rmsprop", learning_rate=1e-5)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert check_loss(loaded).ok and check_optimizer(loaded, "RMSprop", 1e-5).ok and check_metrics(loaded).ok
    assert check_recompiled(loaded).ok


def test_recompiled_from_plain_description():
    stale = {"compiled": True, "trainable_not_in_optimizer": ["base/conv_b/kernel"], "optimizer_not_trainable": []}
    assert "1 trainable now but unknown to its optimizer (base/conv_b/kernel)" in check_recompiled(stale).message
    unknown = {"compiled": True, "trainable_not_in_optimizer": None, "optimizer_not_trainable": None}
    assert check_recompiled(unknown).message.startswith("Not checked")
