"""check_layer_setting: a function called with an off-profile value must build with it."""

import keras

from autograder.checks.arguments import check_layer_setting


def model_with(*rates, nested=False):
    inputs = keras.Input((4,))
    x = inputs
    for rate in rates:
        x = keras.layers.Dropout(rate)(x)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    if nested:
        outer_in = keras.Input((4,))
        return keras.Model(outer_in, model(outer_in))
    return model


def test_a_followed_argument_passes_also_in_a_nested_model():
    assert check_layer_setting(model_with(0.13), "Dropout", "rate", 0.13, argument="dropout").ok
    assert check_layer_setting(model_with(0.13, nested=True), "Dropout", "rate", 0.13, argument="dropout").ok


def test_a_hard_coded_value_fails_naming_the_argument_and_the_layer():
    result = check_layer_setting(model_with(0.2), "Dropout", "rate", 0.13, argument="dropout")
    assert not result.ok
    assert "dropout=0.13" in result.message and "rate=0.2" in result.message and "hard-coded" in result.message


def test_a_missing_layer_fails():
    result = check_layer_setting(model_with(), "Dropout", "rate", 0.13, argument="dropout")
    assert not result.ok and "no Dropout layer" in result.message
