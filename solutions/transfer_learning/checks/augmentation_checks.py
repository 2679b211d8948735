"""Part 1 checks: the augmentation block by behaviour, the ten crops, and TTA.

Each check receives the grader's data by parameter name: `augmentation_block` is the block the
submission built (loaded in safe mode), `reference` the reference's outputs on the same inputs.
"""

import numpy as np

from autograder.checks import check
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
from autograder.checks.tta import check_predict_with_tta, check_ten_crops, predictions_per_crop


def _images(settings, count=8):
    size = settings["augmentation_size"]
    return np.random.default_rng(0).uniform(0, 255, (count, size, size, 3)).astype("float32")


@check(part="augmentation", points=2, visibility="visible", name="build_augmentation keeps shape and dtype")
def augmentation_keeps_shape_and_dtype(augmentation_block, settings):
    return check_output_shape_and_dtype(augmentation_block, _images(settings))


@check(part="augmentation", points=2, visibility="visible", name="build_augmentation is the identity at inference")
def augmentation_is_identity_at_inference(augmentation_block, settings):
    return check_identity_at_inference(augmentation_block, _images(settings))


@check(part="augmentation", points=3, visibility="hidden", name="build_augmentation: horizontal flips only")
def augmentation_flips_left_right_never_upside_down(augmentation_block, settings):
    size = settings["augmentation_size"]
    stats = measure_flips(augmentation_block, size, size)
    return check_flips(stats, horizontal=True, vertical=False)


@check(part="augmentation", points=2, visibility="hidden", name="build_augmentation: translation up to 10%")
def augmentation_translation_within_ten_percent(augmentation_block, settings):
    size = settings["augmentation_size"]
    return check_translation(measure_geometry(augmentation_block, size, size), 0.1, 0.1)


@check(part="augmentation", points=2, visibility="hidden", name="build_augmentation: zoom up to 20%")
def augmentation_zoom_within_twenty_percent(augmentation_block, settings):
    size = settings["augmentation_size"]
    return check_zoom(measure_geometry(augmentation_block, size, size), 0.2)


@check(part="augmentation", points=1, visibility="hidden", name="build_augmentation works in tf.data and in a model")
def augmentation_works_in_tf_data_and_in_a_model(augmentation_block, settings):
    images = _images(settings, 4)
    return [
        check_in_tf_data(augmentation_block, images, np.arange(4), name="in a tf.data map"),
        check_in_model(augmentation_block, images, name="inside a model"),
    ]


@check(part="augmentation", points=4, visibility="visible", name="ten_crops: corners, centre and mirrors in order")
def ten_crops_geometry(ten_crops, reference):
    return check_ten_crops(ten_crops, reference.ten_crops, function="ten_crops")


@check(part="augmentation", points=4, visibility="hidden", name="predict_with_tta averages the ten crops")
def predict_with_tta_is_the_mean_over_ten_crops(tta_predictions, reference, grader_inputs):
    import keras  # noqa: PLC0415

    model = keras.models.load_model(grader_inputs / "tta_model.keras", safe_mode=True)
    per_crop = predictions_per_crop(lambda x: model.predict(x, verbose=0), reference.ten_crops)
    return check_predict_with_tta(tta_predictions, per_crop, atol=1e-4, function="predict_with_tta")
