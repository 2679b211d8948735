"""Trainability by behaviour, including the stale-compile case of Keras 3 with TensorFlow.

Found with Keras 3.15 (TensorFlow backend): `fit` traces a train function that updates the
variables trainable at trace time, and keeps it until `compile` is called again. Changing
`trainable` after training, without compiling, leaves `fit` training the old set.
"""

import numpy as np
import pytest

from autograder.checks.compile_settings import check_recompiled
from autograder.checks.training_probe import check_frozen_by_behaviour, run_training_probe

from .helpers import compile_binary, tiny_base, tiny_transfer
from .test_trainability import fine_tuned_model


def trained(model, x, y):
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model


def test_stale_compile_keeps_training_layers_flagged_frozen(images_labels):
    x, y = images_labels
    base = tiny_base()
    model = trained(compile_binary(tiny_transfer(base)), x, y)
    base.trainable = False  # after training, and no compile: the old train function stays
    probe = run_training_probe(model, x, y, steps=2)
    moved = {v.key for v in probe.variables if v.moved}
    frozen = {v.key for v in probe.variables if v.role == "frozen"}
    assert frozen & moved, "Keras no longer reuses the stale train function; revisit training_probe's docs"
    assert any(key.endswith("moving_mean") for key in frozen & moved)
    result = check_frozen_by_behaviour(probe)
    assert not result.ok
    assert "Received: their flags say frozen, but the weights moved: layer `base/conv_a` (Conv2D)" in result.message
    assert "`base/bn` (BatchNormalization)" in result.message and "moving_variance" in result.message
    assert "not compiled again" in result.message
    assert not check_recompiled(model).ok


def test_compiled_again_after_freezing_passes(images_labels):
    x, y = images_labels
    base = tiny_base()
    model = trained(compile_binary(tiny_transfer(base)), x, y)
    base.trainable = False
    compile_binary(model)
    probe = run_training_probe(model, x, y, steps=2)
    result = check_frozen_by_behaviour(probe)
    assert result.ok, result.message
    assert {v.key for v in probe.variables if v.moved} == {v.key for v in probe.variables if v.role == "trainable"}
    assert check_recompiled(model).ok


def test_unfrozen_without_compiling_does_not_train_the_new_layers(images_labels):
    x, y = images_labels
    model = fine_tuned_model()  # build the fine-tuning flags on a frozen model first ...
    base = model.get_layer("base")
    base.trainable = False
    trained(compile_binary(model), x, y)
    base.trainable = True  # ... then unfreeze its top without compiling again
    for layer in base.layers[:3]:
        layer.trainable = False
    result = check_frozen_by_behaviour(run_training_probe(model, x, y, steps=2))
    assert not result.ok
    assert (
        "Expected these weights to change during 2 training steps. Received: unchanged: layer `base/conv_b`"
        in result.message
    )
    assert "was the model compiled again" in result.message


def test_weights_the_reference_freezes_must_not_move(images_labels):
    x, y = images_labels
    model = compile_binary(fine_tuned_model(freeze_bn=False))  # BatchNormalization left trainable
    probe = run_training_probe(model, x, y, steps=2)
    assert check_frozen_by_behaviour(probe).ok  # consistent with its own flags ...
    result = check_frozen_by_behaviour(probe, fine_tuned_model())  # ... but not with the reference
    assert not result.ok
    assert (
        "as in the reference. Received: they are trainable and moved: layer `base/bn` (BatchNormalization)"
        in result.message
    )
    assert "gamma" in result.message and "conv_b" not in result.message


def test_reference_with_other_shapes_cannot_be_compared(images_labels):
    x, y = images_labels
    probe = run_training_probe(compile_binary(fine_tuned_model()), x, y, steps=1)
    result = check_frozen_by_behaviour(probe, tiny_base())
    assert not result.ok and "reference's shapes" in result.message


def test_uncompiled_model_is_reported_not_raised(images_labels):
    x, y = images_labels
    probe = run_training_probe(tiny_transfer(tiny_base()), x, y, steps=1)
    assert probe.error is not None
    result = check_frozen_by_behaviour(probe)
    assert not result.ok and "Received: error=Expected a compiled model" in result.message


def test_probe_restores_weights_and_keys_by_path(images_labels):
    x, y = images_labels
    model = compile_binary(tiny_transfer(tiny_base()))
    before = [np.array(w) for w in model.get_weights()]
    probe = run_training_probe(model, x, y, steps=2, batch_size=8)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert list(probe.before) == list(probe.after) and len(probe.before) == len(model.weights)
    assert any(key.endswith("moving_mean") for key in probe.before)
    run_training_probe(model, x, y, steps=1, restore=False)
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_probe_needs_enough_samples(images_labels):
    x, y = images_labels
    with pytest.raises(ValueError, match="len\\(x\\)=32"):
        run_training_probe(compile_binary(tiny_transfer(tiny_base())), x, y, steps=5, batch_size=8)
