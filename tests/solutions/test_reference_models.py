"""The reference solutions build exactly the models the lab describes."""

from __future__ import annotations

import keras
import numpy as np
import pytest


def trainable_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_scratch_cnn_has_exactly_3453121_parameters(reference_lab):
    scratch, aug = reference_lab.scratch, reference_lab.augmentation
    plain = scratch.build_scratch_cnn((150, 150, 3))
    assert plain.count_params() == 3_453_121
    assert trainable_count(plain) == 3_453_121
    augmented = scratch.build_scratch_cnn((150, 150, 3), augmentation=aug.build_augmentation(150, 150), dropout=0.5)
    assert augmented.count_params() == 3_453_121
    assert [type(layer).__name__ for layer in augmented.layers].count("Dropout") == 1
    assert plain.output_shape == (None, 1)
    assert scratch.build_scratch_cnn((96, 96, 3)).count_params() == 1_290_433


def test_scratch_compile_settings(reference_lab):
    model = reference_lab.scratch.compile_scratch_cnn(reference_lab.scratch.build_scratch_cnn((64, 64, 3)))
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)


def test_frozen_base_model_trains_only_its_head(ctx, reference_lab):
    fe = reference_lab.feature_extraction
    profile = ctx.profile("smoke")
    size = profile.base.image_size
    base = fe.load_base((size, size, 3), alpha=profile.base.alpha, weights=str(ctx.weights_file(profile)))
    assert base.trainable is False and trainable_count(base) == 0
    assert base.count_params() == 410_208
    model = fe.build_transfer_model(base, reference_lab.augmentation.build_augmentation(size, size), dropout=0.2)
    channels = base.output_shape[-1]
    assert trainable_count(model) == channels + 1
    assert model.count_params() == 410_208 + channels + 1
    assert model.get_layer(base.name) is base


def test_extract_features_pools_and_leaves_images_untouched(ctx, reference_lab):
    fe = reference_lab.feature_extraction
    profile = ctx.profile("smoke")
    size = profile.base.image_size
    base = fe.load_base((size, size, 3), alpha=profile.base.alpha, weights=str(ctx.weights_file(profile)))
    images = ctx.split_loader(profile)("validation", size).images[:8].astype("float32")
    before = images.copy()
    features = fe.extract_features(base, images, batch_size=4)
    np.testing.assert_array_equal(images, before)
    assert features.shape == (8, base.output_shape[-1])
    manual = base(keras.applications.mobilenet_v2.preprocess_input(before.copy()), training=False)
    np.testing.assert_allclose(features, np.asarray(manual).mean(axis=(1, 2)), rtol=1e-4, atol=1e-5)


def test_unfreeze_top_keeps_batchnorm_and_lower_layers_frozen(ctx, reference_lab):
    fe, ft = reference_lab.feature_extraction, reference_lab.fine_tuning
    profile = ctx.profile("smoke")
    base = fe.load_base((96, 96, 3), alpha=0.35, weights=str(ctx.weights_file(profile)))
    ft.unfreeze_top(base, 100)
    for index, layer in enumerate(base.layers):
        expected = index >= 100 and not isinstance(layer, keras.layers.BatchNormalization)
        assert layer.trainable == expected, (index, layer.name)
    assert trainable_count(base) > 0
    with pytest.raises(ValueError, match="Received: fine_tune_at=999"):
        ft.unfreeze_top(base, 999)
    [stopper] = ft.fine_tuning_callbacks(patience=4)
    assert (stopper.monitor, stopper.patience, stopper.restore_best_weights) == ("val_loss", 4, True)


def test_ten_crops_geometry_and_tta_mean(reference_lab):
    aug = reference_lab.augmentation
    images = np.arange(2 * 6 * 7 * 1, dtype=np.float32).reshape(2, 6, 7, 1)
    crops = aug.ten_crops(images, 4)
    assert crops.shape == (10, 2, 4, 4, 1)
    np.testing.assert_array_equal(crops[0], images[:, :4, :4])
    np.testing.assert_array_equal(crops[1], images[:, :4, 3:])
    np.testing.assert_array_equal(crops[2], images[:, 2:, :4])
    np.testing.assert_array_equal(crops[3], images[:, 2:, 3:])
    np.testing.assert_array_equal(crops[4], images[:, 1:5, 1:5])
    np.testing.assert_array_equal(crops[5:], crops[:5, :, :, ::-1])
    with pytest.raises(ValueError, match="Received: crop_size=9"):
        aug.ten_crops(images, 9)

    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: keras.ops.mean(t, axis=(1, 2, 3))[:, None] / 100)(inputs))
    expected = np.mean([crop.mean(axis=(1, 2, 3)) / 100 for crop in crops], axis=0)
    np.testing.assert_allclose(aug.predict_with_tta(model, images, 4), expected, rtol=1e-5)


def test_augmentation_is_identity_at_inference_and_random_in_training(reference_lab):
    block = reference_lab.augmentation.build_augmentation(32, 32, seed=1)
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(block(images, training=False)), images)
    out = np.asarray(block(images, training=True))
    assert out.shape == images.shape and out.dtype == images.dtype
    assert not np.allclose(out, images)
