"""The augmentation block by behaviour: the reference passes, each kind of wrong block fails."""

import keras
import numpy as np
import pytest
from keras import layers

from autograder.checks.augmentation import (
    check_flips,
    check_identity_at_inference,
    check_in_model,
    check_in_tf_data,
    check_output_shape_and_dtype,
    check_translation,
    check_zoom,
    measure_flips,
    measure_geometry,
)

from .helpers import load_solution

SIZE = 32


def block(*augmenting: keras.layers.Layer) -> keras.Sequential:
    return keras.Sequential([keras.Input((SIZE, SIZE, 3)), *augmenting])


def flip(mode="horizontal"):
    return layers.RandomFlip(mode)


def shift(factor=0.1):
    return layers.RandomTranslation(factor, factor)


def zoom(factor=0.2):
    return layers.RandomZoom(factor)


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(0, 255, (8, SIZE, SIZE, 3)).astype("float32")


def all_checks(augment, images):
    flips, geometry = measure_flips(augment, SIZE, SIZE), measure_geometry(augment, SIZE, SIZE)
    labels = np.arange(len(images)) % 2
    return {
        "shape": check_output_shape_and_dtype(augment, images),
        "identity": check_identity_at_inference(augment, images),
        "flips": check_flips(flips),
        "translation": check_translation(geometry, 0.1, 0.1),
        "zoom": check_zoom(geometry, 0.2),
        "tf.data": check_in_tf_data(augment, images, labels),
        "model": check_in_model(augment, images),
    }


@pytest.mark.parametrize("seed", [0, 1, None])
def test_reference_block_passes_everything(images, seed):
    augment = load_solution("augmentation").build_augmentation(SIZE, SIZE, seed=seed)
    failures = {key: r.message for key, r in all_checks(augment, images).items() if not r.ok}
    assert not failures


def test_harmless_variants_pass(images):
    augment = block(
        layers.RandomZoom((-0.2, 0.2), fill_mode="constant"),
        flip(),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
    )
    failures = {key: r.message for key, r in all_checks(augment, images).items() if not r.ok}
    assert not failures


def test_default_flip_mode_flips_vertically():
    result = check_flips(measure_flips(block(flip("horizontal_and_vertical"), shift(), zoom()), SIZE, SIZE))
    assert not result.ok
    assert result.message.startswith(
        "Expected horizontal flips about half of the time and vertical flips never (over 256 draws). "
        "Received: vertical_flip_rate=0."
    )


def test_no_flip_at_all():
    result = check_flips(measure_flips(block(shift(), zoom()), SIZE, SIZE))
    assert not result.ok and "Received: horizontal_flip_rate=0.00" in result.message


def test_translation_too_large():
    result = check_translation(measure_geometry(block(flip(), shift(0.5), zoom()), SIZE, SIZE))
    assert not result.ok
    assert result.message.startswith("Expected shifts of up to 10% of the height (3.2px) and 10% of the width (3.2px)")
    assert "largest_horizontal_shift=" in result.message and "largest_vertical_shift=" in result.message


def test_translation_missing():
    result = check_translation(measure_geometry(block(flip(), zoom()), SIZE, SIZE))
    assert not result.ok and "(too small: no translation?)" in result.message


def test_zoom_missing():
    result = check_zoom(measure_geometry(block(flip(), shift()), SIZE, SIZE))
    assert not result.ok
    assert "magnifications from 0.83 to 1.25, over 256 draws. Received: magnification=1.0" in result.message


def test_zoom_too_large():
    result = check_zoom(measure_geometry(block(flip(), shift(), zoom(0.5)), SIZE, SIZE))
    assert not result.ok and " to 1.9" in result.message.split("Received: ")[1]


def test_a_block_that_changes_images_at_inference_fails(images):
    # Keras' random layers are always the identity at inference; a realistic mistake is a
    # non-random layer inside the block, such as the rescaling that belongs to the model.
    augment = block(flip(), shift(), zoom(), layers.Rescaling(1 / 255))
    result = check_identity_at_inference(augment, images)
    assert not result.ok
    assert result.message.startswith("Expected the images unchanged at training=False (as in model.predict). Received:")
    assert "images_changed=8 of 8" in result.message
    assert "max_abs_difference=" in check_in_model(augment, images).message


def test_a_callable_that_ignores_training_fails(images):
    def always_mirrored(x, training=False):
        return keras.ops.flip(x, axis=2)

    assert not check_identity_at_inference(always_mirrored, images).ok
    assert check_in_model(always_mirrored, images).message == "Expected a Keras layer or model. Received: type=function"


def test_a_block_that_changes_the_shape_fails(images):
    result = check_output_shape_and_dtype(block(flip(), layers.CenterCrop(24, 24)), images)
    assert not result.ok
    assert "Received: shape=(8, 24, 24, 3), dtype=float32" in result.message


def test_an_inactive_block_fails_inside_tf_data_and_a_model(images):
    inactive = block(layers.Identity())
    assert "Received: images_changed=0" in check_in_tf_data(inactive, images, np.zeros(8)).message
    assert "Received: images_changed=0" in check_in_model(inactive, images).message


def test_probes_need_a_reasonable_size():
    with pytest.raises(ValueError, match="at least 32px"):
        measure_flips(keras.Sequential([keras.Input((16, 16, 3)), flip()]), 16, 16)
