"""Where the spec allows equivalents: weightless layers are judged by what they compute.

The lab's transfer model calls `keras.applications.mobilenet_v2.preprocess_input` (a
TrueDivide and a Subtract node in Keras 3); `Rescaling(1/127.5, offset=-1)` computes the same
and must pass, while a different function, a missing step, other weight shapes or another
order must still fail, with a short message that says where. The models go through a `.keras`
save and a `safe_mode=True` load first, as the grader's do.
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

from autograder.checks.architecture import check_architecture

from .helpers import load_solution, tiny_base


def round_trip(model: keras.Model, folder) -> keras.Model:
    path = folder / f"{model.name}_{id(model)}.keras"
    model.save(path)
    return keras.models.load_model(path, safe_mode=True)


def reference_model(base: keras.Model | None = None) -> keras.Model:
    """The reference solution's build_transfer_model, on a tiny base, with the lab's augmentation."""
    base = base or tiny_base()
    size = base.input_shape[1]
    augmentation = load_solution("augmentation").build_augmentation(size, size, seed=0)
    return load_solution("feature_extraction").build_transfer_model(base, augmentation=augmentation, dropout=0.2)


def student_model(preprocess, *, base=None, pool_first=True, use_bias=True) -> keras.Model:
    """A submission's build_transfer_model: the reference's layers with its own preprocessing."""
    base = base or tiny_base()
    size = base.input_shape[1]
    inputs = keras.Input(base.input_shape[1:])
    x = load_solution("augmentation").build_augmentation(size, size, seed=0)(inputs)
    if preprocess is not None:
        x = preprocess(x)
    x = base(x, training=False)
    head = [layers.GlobalAveragePooling2D(), layers.Dropout(0.2)]
    for layer in head if pool_first else head[::-1]:
        x = layer(x)
    outputs = layers.Dense(1, activation="sigmoid", use_bias=use_bias)(x)
    return keras.Model(inputs, outputs, name="student")


def two_rescalings(x):
    return layers.Rescaling(1.0, offset=-1.0)(layers.Rescaling(1 / 127.5)(x))


EQUIVALENTS = {
    "rescaling": lambda x: layers.Rescaling(1 / 127.5, offset=-1)(x),
    "two_rescalings": two_rescalings,
    "keras_ops": lambda x: keras.ops.subtract(keras.ops.divide(x, 127.5), 1.0),
    "normalization_with_constants": lambda x: layers.Normalization(mean=127.5, variance=127.5**2)(x),
    "preprocess_input": keras.applications.mobilenet_v2.preprocess_input,
}


@pytest.mark.parametrize("preprocess", EQUIVALENTS.values(), ids=EQUIVALENTS.keys())
def test_equivalent_preprocessing_passes(preprocess, tmp_path):
    received = round_trip(student_model(preprocess), tmp_path)
    result = check_architecture(received, round_trip(reference_model(), tmp_path))
    assert result.ok, result.message
    assert check_architecture(received, reference_model()).ok  # the grader builds the reference in memory


def failure(received: keras.Model, tmp_path) -> str:
    result = check_architecture(round_trip(received, tmp_path), reference_model())
    assert not result.ok
    assert len(result.message) < 400 and result.message.count("\n") <= 3, result.message
    return result.message


def test_a_different_function_fails_and_says_where(tmp_path):
    message = failure(student_model(lambda x: layers.Rescaling(1 / 255)(x)), tmp_path)
    assert message.startswith("Expected TrueDivide(), Subtract() at position 4, or layers that compute the same.")
    assert "Received: layer=`rescaling" in message and "Rescaling(scale=0.00392157, offset=0.0)" in message
    assert "instead of" in message


def test_a_missing_preprocessing_step_fails(tmp_path):
    message = failure(student_model(None), tmp_path)
    assert message.startswith("Expected TrueDivide(), Subtract() at position 4. Received: missing_layers=2")
    assert "found_instead=`base/conv_a` Conv2D(filters=4" in message


def test_half_of_the_preprocessing_fails(tmp_path):
    message = failure(student_model(lambda x: layers.Rescaling(1 / 127.5)(x)), tmp_path)
    assert "Received: layer=`rescaling" in message and "instead of" in message


def test_other_weight_shapes_fail(tmp_path):
    message = failure(student_model(EQUIVALENTS["rescaling"], use_bias=False), tmp_path)
    assert message.startswith("Expected Dense(units=1, activation=sigmoid, weights=[(4, 1), (1,)]) at position 11.")
    assert "weights=[(4, 1)])" in message


def test_layers_in_another_order_fail(tmp_path):
    message = failure(student_model(EQUIVALENTS["rescaling"], pool_first=False), tmp_path)
    assert "GlobalAveragePooling2D(keepdims=False)" in message and "position 9" in message


def test_real_mobilenet_v2_with_rescaling_passes(tmp_path):
    def base() -> keras.Model:
        return keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)

    received = round_trip(student_model(EQUIVALENTS["rescaling"], base=base()), tmp_path)
    assert check_architecture(received, reference_model(base())).ok
    wrong = round_trip(student_model(lambda x: layers.Rescaling(1 / 255)(x), base=base()), tmp_path)
    result = check_architecture(wrong, reference_model(base()))
    assert not result.ok and result.message.startswith("Expected TrueDivide(), Subtract() at position 4")
