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
    monkeypatch.setattr("autograder.calibration.find_calibration", lambda *args: path)
    thresholds = digits_grader._thresholds()
    assert thresholds["dense"]["threshold"] == 0.85  # the values still serve
    named = f"calibrated on the jax backend, graded on {keras.backend.backend()}"
    assert (named in thresholds.problem) == (backend == "jax"), thresholds.problem


def test_each_backend_has_its_own_calibration_file_and_grading_takes_its_own_first(tmp_path):
    """Thresholds are per backend where they differ: `ci.json` is TensorFlow's, `ci.jax.json` JAX's;
    a backend without its own takes TensorFlow's, else another's (and the grade says so)."""
    from types import SimpleNamespace

    from autograder.calibration import calibration_path, find_calibration
    from autograder.config import load_config
    from tests.config.test_config import REPO

    ctx = SimpleNamespace(solutions_dir=tmp_path)
    folder = tmp_path / "calibration"
    folder.mkdir()
    assert calibration_path(ctx, "ci", backend="tensorflow").name == "ci.json"
    assert calibration_path(ctx, "ci", backend="jax").name == "ci.jax.json"
    gpu = load_config(REPO / "course.yaml", "transfer_learning").offline_fallbacks["gpu"]
    assert calibration_path(ctx, "gpu", gpu, backend="torch").name == "gpu-offline.torch.json"

    assert find_calibration(ctx, "ci", None, "jax") is None
    (folder / "ci.torch.json").write_text("{}")
    assert find_calibration(ctx, "ci", None, "jax").name == "ci.torch.json"  # another backend's, said in the grade
    (folder / "ci.json").write_text("{}")
    assert find_calibration(ctx, "ci", None, "jax").name == "ci.json"
    (folder / "ci.jax.json").write_text("{}")
    assert find_calibration(ctx, "ci", None, "jax").name == "ci.jax.json"
    assert find_calibration(ctx, "ci", None, "tensorflow").name == "ci.json"
    assert find_calibration(ctx, "gpu", gpu, "jax") is None  # the fallback's are its own
