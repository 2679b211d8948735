"""Grading on another Keras backend than the calibration's says so, in every submission's notes."""

from __future__ import annotations

import keras
import pytest

from autograder.calibration.thresholds import Calibration, Threshold
from tests.conftest import TEST_PROFILE


@pytest.mark.parametrize("backend", ["jax", keras.backend.backend()])
def test_a_calibration_from_another_backend_is_named(digits_grader, tmp_path, monkeypatch, backend):
    threshold = Threshold((0.9,), 0.9, 0.01, 0.85, 0.5, 100)
    calibration = Calibration(TEST_PROFILE, "x", [1], {"dense": threshold}, "test", backend, "2026-11-30")
    path = tmp_path / f"{TEST_PROFILE}.json"
    path.write_text(calibration.to_json())
    monkeypatch.setattr("autograder.calibration.calibration_path", lambda ctx, profile: path)
    thresholds = digits_grader._thresholds()
    assert thresholds["dense"]["threshold"] == 0.85  # the values still serve
    named = f"calibrated on the jax backend, graded on {keras.backend.backend()}"
    assert (named in thresholds.problem) == (backend == "jax"), thresholds.problem
