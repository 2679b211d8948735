"""Test-time augmentation: the ten crops, exactly, and the prediction averaged over them.

The grader computes the expected crops with the reference's crop function (or any trusted
implementation) on the same images, and the expected per-crop predictions with its own copy of
the model; these checks compare arrays and name the crop or the mistake.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.checks.result import CheckResult, expected_received, failed, passed

CROP_NAMES = (
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
    "centre",
    "top-left mirrored",
    "top-right mirrored",
    "bottom-left mirrored",
    "bottom-right mirrored",
    "centre mirrored",
)


def crop_name(index: int) -> str:
    """ "crop 5 (top-left mirrored)"."""
    return f"crop {index} ({CROP_NAMES[index]})"


def check_ten_crops(
    received: np.ndarray,
    expected: np.ndarray,
    *,
    function: str = "the crop function",
    name: str = "ten crops",
) -> CheckResult:
    """Compare the crops a submission cut with the reference's, exactly.

    Args:
        received: the submission's ten crops of `images` (its `f(images, crop_size)`).
        expected: the reference's output on the same images, shape (10, N, c, c, C).
        function: the function's name, for messages.
        name: the result's name.

    Returns:
        A failed result names the first crop that differs and, when it equals another expected
        crop, which one (a wrong order or a missing mirror).
    """
    expected = np.asarray(expected)
    try:
        received = np.asarray(received)
    except Exception as error:  # noqa: BLE001 - ragged lists and other non-arrays
        return failed(name, expected_received(f"{function} to return an array of shape {expected.shape}", error=error))
    if received.shape != expected.shape:
        return failed(
            name,
            expected_received(
                f"{function} to return shape {expected.shape} (10 crops, N images, crop, crop, channels)",
                shape=received.shape,
            ),
        )
    if received.dtype != expected.dtype:
        return failed(
            name, expected_received(f"{function} to keep the images' dtype {expected.dtype}", dtype=received.dtype)
        )
    for index in range(len(expected)):
        if np.array_equal(received[index], expected[index]):
            continue
        same_as = [j for j in range(len(expected)) if np.array_equal(received[index], expected[j])]
        if same_as:
            what = f"it equals the expected {crop_name(same_as[0])}"
        else:
            diff = np.abs(received[index].astype("float64") - expected[index].astype("float64"))
            what = f"max abs difference {diff.max():.4g} over {int((diff > 0).sum())} values"
        return failed(
            name, f"Expected {crop_name(index)} to match the reference. Received: {crop_name(index)} differs: {what}"
        )
    return passed(name, f"All 10 crops of {expected.shape[1]} images match the reference.")


def predictions_per_crop(predict: Callable[[np.ndarray], np.ndarray], crops: np.ndarray) -> np.ndarray:
    """The model's prediction for each crop: `predict` applied to each of the 10 crops, shape (10, N).

    `predict` maps (N, c, c, C) images to N probabilities, for example
    `lambda x: model.predict(x, verbose=0)`.
    """
    return np.stack([np.asarray(predict(crop)).reshape(-1) for crop in crops])


def check_predict_with_tta(
    received: np.ndarray,
    per_crop: np.ndarray,
    *,
    atol: float = 1e-5,
    function: str = "the TTA function",
    name: str = "prediction averaged over the ten crops",
) -> CheckResult:
    """Check that the submission's TTA prediction is the mean of the 10 per-crop predictions.

    Args:
        received: the submission's TTA prediction (its `f(model, images, crop_size)`), shape (N,).
        per_crop: the grader's predictions of the same model on each reference crop, (10, N).
        atol: the absolute tolerance (predictions are probabilities).
        function: the function's name, for messages.
        name: the result's name.

    Returns:
        A failed result says which image differs, and recognises common mistakes (the centre
        crop only, the first five crops only, a median, the mirrored crops left out).
    """
    per_crop = np.asarray(per_crop, dtype="float64")
    expected = per_crop.mean(axis=0)
    try:
        got = np.asarray(received, dtype="float64")
    except Exception as error:  # noqa: BLE001 - not array-like at all
        return failed(
            name, expected_received(f"{function} to return a float array of shape {expected.shape}", error=error)
        )
    if got.shape != expected.shape:
        return failed(
            name,
            expected_received(
                f"{function} to return shape {expected.shape} (one probability per image)", shape=got.shape
            ),
        )
    if np.allclose(got, expected, atol=atol, rtol=0):
        return passed(name, f"The mean over the ten crops, within {atol:g}, for {len(expected)} images.")
    mistakes = {
        "the centre crop's prediction only": per_crop[4],
        "the mean over the first five crops only (no mirrors)": per_crop[:5].mean(axis=0),
        "the median over the crops instead of the mean": np.median(per_crop, axis=0),
        "the first crop's prediction only": per_crop[0],
    }
    for mistake, values in mistakes.items():
        if np.allclose(got, values, atol=atol, rtol=0):
            return failed(name, f"Expected the mean over all ten crops' predictions. Received: {mistake}")
    worst = int(np.argmax(np.abs(got - expected)))
    return failed(
        name,
        expected_received(
            f"the mean over the ten crops' predictions, within {atol:g}",
            **{f"image_{worst}": f"{got[worst]:.6f} (expected {expected[worst]:.6f})"},
        ),
    )
