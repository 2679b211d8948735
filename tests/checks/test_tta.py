"""Ten crops exactly, and the prediction averaged over them."""

import numpy as np
import pytest

from autograder.checks.tta import check_predict_with_tta, check_ten_crops, predictions_per_crop

from .helpers import load_solution

reference = load_solution("augmentation")


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (3, 11, 13, 3)).astype("float32")


def test_reference_crops_pass(images):
    assert check_ten_crops(reference.ten_crops(images, 8), reference.ten_crops(images, 8)).ok


def test_crops_in_the_wrong_order_are_named(images):
    expected = reference.ten_crops(images, 8)
    received = expected.copy()
    received[5], received[6] = expected[6], expected[5]
    result = check_ten_crops(received, expected)
    assert result.message == (
        "Expected crop 5 (top-left mirrored) to match the reference. Received: crop 5 (top-left mirrored) "
        "differs: it equals the expected crop 6 (top-right mirrored)"
    )


def test_missing_mirror_is_named(images):
    expected = reference.ten_crops(images, 8)
    received = np.concatenate([expected[:5], expected[:5]])
    result = check_ten_crops(received, expected)
    assert "crop 5 (top-left mirrored) differs: it equals the expected crop 0 (top-left)" in result.message


def test_off_by_one_centre_is_caught(images):
    expected = reference.ten_crops(images, 8)
    received = expected.copy()
    received[4] = images[:, 2:10, 3:11]  # (H - c) // 2 + 1 rows down
    result = check_ten_crops(received, expected)
    assert result.message.startswith(
        "Expected crop 4 (centre) to match the reference. Received: crop 4 (centre) differs: max abs"
    )


def test_shape_and_dtype(images):
    expected = reference.ten_crops(images, 8)
    assert "Received: shape=(3, 10, 8, 8, 3)" in check_ten_crops(expected.swapaxes(0, 1), expected).message
    assert "Received: dtype=float64" in check_ten_crops(expected.astype("float64"), expected).message


class MeanModel:
    """A stand-in model: P(dog) = the mean pixel of each crop / 255, with a `predict` like Keras'."""

    def predict(self, x, verbose=0):
        return (np.asarray(x).mean(axis=(1, 2, 3)) / 255.0).reshape(-1, 1)


def test_reference_tta_passes(images):
    model = MeanModel()
    per_crop = predictions_per_crop(lambda x: model.predict(x), reference.ten_crops(images, 8))
    assert per_crop.shape == (10, 3)
    assert check_predict_with_tta(reference.predict_with_tta(model, images, 8), per_crop).ok


@pytest.mark.parametrize(
    "mistake, message",
    [
        (lambda p: p[4], "Received: the centre crop's prediction only"),
        (lambda p: p[:5].mean(axis=0), "Received: the mean over the first five crops only (no mirrors)"),
        (lambda p: p.mean(axis=0) + 0.01, "Received: image_"),
    ],
)
def test_tta_mistakes_are_recognised(images, mistake, message):
    per_crop = predictions_per_crop(MeanModel().predict, reference.ten_crops(images, 8))
    per_crop[:, 1] += np.arange(10) * 0.01  # make the crops disagree, so each mistake is distinguishable
    result = check_predict_with_tta(mistake(per_crop), per_crop)
    assert not result.ok and message in result.message


def test_tta_shape(images):
    per_crop = np.zeros((10, 3))
    result = check_predict_with_tta(np.zeros((3, 1)), per_crop, function="predict_with_tta")
    assert (
        result.message
        == "Expected predict_with_tta to return shape (3,) (one probability per image). Received: shape=(3, 1)"
    )
