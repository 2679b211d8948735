"""Exact parameter counts, at one and at several input sizes."""

import keras
import pytest
from keras import layers

from autograder.checks.parameters import (
    ParameterCounts,
    check_parameter_counts,
    check_parameter_counts_at_sizes,
    parameter_counts,
)

from .helpers import load_solution, tiny_base, tiny_transfer


def small_cnn(size: int, pooling: str = "flatten") -> keras.Model:
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(2, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x) if pooling == "flatten" else layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))


def test_reference_scratch_cnn_has_the_documented_count():
    model = load_solution("scratch").build_scratch_cnn((150, 150, 3))
    assert check_parameter_counts(model, {"total": 3_453_121, "trainable": 3_453_121, "non_trainable": 0}).ok


def test_counts_split_trainable_and_non_trainable():
    base = tiny_base()
    base.trainable = False
    counts = parameter_counts(tiny_transfer(base))
    assert counts == ParameterCounts(total=281, trainable=5, non_trainable=276)


def test_wrong_count_names_expected_and_received():
    result = check_parameter_counts(small_cnn(8), small_cnn(10), label="`build_scratch_cnn()` at 10x10x3")
    assert not result.ok
    assert result.message == (
        "Expected `build_scratch_cnn()` at 10x10x3 to have 89 (89 trainable, 0 non-trainable) parameters. "
        "Received: total=75, trainable=75, non_trainable=0"
    )


def test_two_sizes_pass_when_both_match():
    sizes = (8, 12)
    received = {(s, s, 3): small_cnn(s) for s in sizes}
    expected = {(s, s, 3): parameter_counts(small_cnn(s)) for s in sizes}
    result = check_parameter_counts_at_sizes(received, expected)
    assert result.ok, result.message
    assert result.message == "the model: 8x8x3: 75, 12x12x3: 107 parameters"


def test_a_hard_coded_input_size_is_caught_at_the_other_size():
    received = {(s, s, 3): small_cnn(8) for s in (8, 12)}  # ignores the requested input shape
    expected = {(s, s, 3): small_cnn(s) for s in (8, 12)}
    result = check_parameter_counts_at_sizes(received, expected, label="`build_scratch_cnn`")
    assert not result.ok
    assert result.message == (
        "Expected `build_scratch_cnn` to have exactly the reference's parameter counts. Received: at input "
        "12x12x3: expected 107 (107 trainable, 0 non-trainable), received total=75, trainable=75, non_trainable=0"
    )


def test_global_pooling_instead_of_flatten_fails_at_every_size():
    received = {(s, s, 3): small_cnn(s, pooling="global") for s in (8, 12)}
    expected = {(s, s, 3): small_cnn(s) for s in (8, 12)}
    result = check_parameter_counts_at_sizes(received, expected)
    assert not result.ok
    assert "at input 8x8x3: expected 75 (75 trainable, 0 non-trainable), received total=59" in result.message
    assert "at input 12x12x3: expected 107" in result.message


def test_a_size_without_a_model_fails_and_empty_expectations_raise():
    result = check_parameter_counts_at_sizes({8: small_cnn(8)}, {8: small_cnn(8), 12: small_cnn(12)})
    assert (
        not result.ok
        and "at input 12: expected 107 (107 trainable, 0 non-trainable), received no model" in result.message
    )
    with pytest.raises(ValueError, match="at least one input size"):
        check_parameter_counts_at_sizes({}, {})
