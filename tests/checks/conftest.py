"""Fixtures for the check library's tests: quiet TensorFlow, fixed seeds, tiny data."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture
def images_labels():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (32, 8, 8, 3)).astype("float32")
    y = (rng.uniform(0, 1, (32,)) > 0.5).astype("float32")
    return x, y
