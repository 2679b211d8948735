"""Trainability by flags: per-layer trainable flag and split, compared with a reference."""

from keras import layers

from autograder.checks.trainability import check_frozen, check_trainability_flags, describe_trainability

from .helpers import tiny_base, tiny_transfer


def frozen_model():
    base = tiny_base()
    base.trainable = False
    return tiny_transfer(base), base


def fine_tuned_model(freeze_bn: bool = True):
    """Like the lab's fine-tuning: base trainable from its BatchNormalization on, BatchNormalization frozen."""
    model, base = frozen_model()
    base.trainable = True
    for index, layer in enumerate(base.layers):
        if index < 2 or (freeze_bn and isinstance(layer, layers.BatchNormalization)):
            layer.trainable = False
    return model


def test_description_walks_nested_models():
    model, _ = frozen_model()
    rows = {row.path: row for row in describe_trainability(model)}
    assert set(rows) == {"base", "base/conv_a", "base/bn", "base/conv_b", "head"}
    assert rows["base"].container and not rows["base/bn"].container
    assert (rows["base/bn"].trainable, rows["base/bn"].trainable_params, rows["base/bn"].non_trainable_params) == (
        False,
        0,
        16,
    )
    assert (rows["head"].trainable_params, rows["head"].non_trainable_params) == (5, 0)


def test_matching_flags_pass_whatever_the_layer_names():
    received, _ = frozen_model()  # fresh models get new automatic names
    expected, _ = frozen_model()
    result = check_trainability_flags(received, expected)
    assert result.ok, result.message


def test_unfrozen_base_fails_naming_each_layer():
    received = tiny_transfer(tiny_base())  # the student forgot base.trainable = False
    expected, _ = frozen_model()
    result = check_trainability_flags(received, expected)
    assert not result.ok
    assert (
        "layer `base/conv_a` (Conv2D): expected trainable=False, 0 trainable / 112 non-trainable parameters, "
        "received trainable=True, 112 trainable / 0 non-trainable parameters" in result.message
    )
    assert "`base/bn`" in result.message and "`base/conv_b`" in result.message
    assert "`base` (Functional)" not in result.message  # plain layers are reported, not their container


def test_batchnorm_left_trainable_in_fine_tuning_fails_on_that_layer_only():
    result = check_trainability_flags(fine_tuned_model(freeze_bn=False), fine_tuned_model())
    assert not result.ok
    assert "1 mismatching layer(s): layer `base/bn` (BatchNormalization): expected trainable=False" in result.message


def test_fine_tuned_split_passes():
    assert check_trainability_flags(fine_tuned_model(), fine_tuned_model()).ok


def test_different_architecture_is_reported_not_compared():
    received, _ = frozen_model()
    expected = tiny_transfer(tiny_base())
    expected_rows = describe_trainability(expected)[:-1]  # the reference without its head
    result = check_trainability_flags(received, expected_rows)
    assert (
        not result.ok
        and "Expected 3 layers with weights" in result.message
        and "layers_with_weights=4" in result.message
    )


def test_check_frozen():
    _, base = frozen_model()
    assert check_frozen(base).ok
    trainable = tiny_base("other")
    result = check_frozen(trainable)
    assert not result.ok
    assert "Expected `other` to have no trainable parameters. Received: trainable_params=268" in result.message
    assert "`conv_a` (Conv2D, 112)" in result.message
