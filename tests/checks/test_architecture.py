"""Normalized layer signatures: harmless differences pass, real ones are located."""

import keras
from keras import layers

from autograder.checks.architecture import check_architecture, layer_signature

from .helpers import load_solution, tiny_base, tiny_transfer


def reference_cnn(dropout: float = 0.5) -> keras.Model:
    """The lab's scratch CNN, with its augmentation block, at a tiny size (architecture only)."""
    augmentation, scratch = load_solution("augmentation"), load_solution("scratch")
    return scratch.build_scratch_cnn((64, 64, 3), augmentation.build_augmentation(64, 64), dropout)


def sequential_cnn(filters=(32, 64, 128, 128), flip: str = "horizontal") -> keras.Model:
    """The same network written differently: Sequential, nested augmentation, separate activations."""
    augment = keras.Sequential(
        [
            layers.RandomFlip(flip),
            layers.RandomTranslation((-0.1, 0.1), 0.1, fill_mode="nearest"),
            layers.RandomZoom((-0.2, 0.2)),
        ]
    )
    blocks = []
    for n in filters:
        blocks += [layers.Conv2D(n, (3, 3)), layers.Activation("relu"), layers.MaxPooling2D(pool_size=(2, 2))]
    return keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            augment,
            layers.Rescaling(1 / 255.0),
            *blocks,
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(512, activation="relu"),
            layers.Dense(1),
            layers.Activation("sigmoid"),
        ]
    )


def test_signature_describes_the_layers():
    described = [spec.describe() for spec in layer_signature(reference_cnn())]
    assert described[:4] == [
        "RandomFlip(mode=horizontal)",
        "RandomTranslation(height_factor=(-0.1, 0.1), width_factor=(-0.1, 0.1))",
        "RandomZoom(height_factor=(-0.2, 0.2), width_factor=(-0.2, 0.2))",
        "Rescaling(scale=0.00392157, offset=0.0)",
    ]
    assert described[-3:] == [
        "Dropout(rate=0.5)",
        "Dense(units=512, activation=relu)",
        "Dense(units=1, activation=sigmoid)",
    ]


def test_harmless_differences_pass():
    result = check_architecture(sequential_cnn(), reference_cnn())
    assert result.ok, result.message


def test_wrong_filters_are_located():
    result = check_architecture(sequential_cnn(filters=(32, 64, 64, 128)), reference_cnn())
    assert not result.ok
    assert result.message.startswith("Expected Conv2D(filters=128, kernel_size=(3, 3)")
    assert "at position 9. Received: layer=`conv2d_" in result.message and "Conv2D(filters=64" in result.message


def test_vertical_flips_are_a_difference():
    result = check_architecture(sequential_cnn(flip="horizontal_and_vertical"), reference_cnn())
    assert not result.ok
    assert "Expected RandomFlip(mode=horizontal) at position 1. Received: layer=" in result.message
    assert "RandomFlip(mode=horizontal_and_vertical)" in result.message


def test_missing_dropout_is_named():
    result = check_architecture(reference_cnn(dropout=0.0), reference_cnn())
    assert not result.ok
    assert result.message.startswith(
        "Expected Dropout(rate=0.5) at position 14. Received: missing_layers=1, found_instead="
    )
    assert "Dense(units=512, activation=relu)" in result.message


def test_extra_layers_are_named():
    result = check_architecture(reference_cnn(), reference_cnn(dropout=0.0))
    assert not result.ok and "Received: extra_layers=`dropout" in result.message


def test_missing_block_is_reported_as_one_difference():
    scratch = load_solution("scratch")
    result = check_architecture(scratch.build_scratch_cnn((64, 64, 3)), reference_cnn(dropout=0.0))
    assert not result.ok
    assert result.message.startswith("Expected RandomFlip(mode=horizontal), RandomTranslation(")
    assert "Received: missing_layers=3" in result.message


def test_nested_models_can_stay_opaque():
    flat = [spec.kind for spec in layer_signature(tiny_transfer(tiny_base()))]
    assert flat == ["Conv2D", "BatchNormalization", "Conv2D", "GlobalAveragePooling2D", "Dropout", "Dense"]
    opaque = layer_signature(tiny_transfer(tiny_base()), expand_nested=False)
    assert opaque[0].describe() == "Model(layers=3, params=276)"


def test_ignored_kinds_and_keras_operations():
    inputs = keras.Input((8, 8, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(inputs)
    outputs = layers.Dense(1)(layers.Flatten()(x))
    kinds = [spec.kind for spec in layer_signature(keras.Model(inputs, outputs), ignore={"Flatten"})]
    assert kinds == ["TrueDivide", "Subtract", "Dense"]
