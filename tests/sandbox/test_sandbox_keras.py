"""Keras under the sandbox: TensorFlow's large virtual memory and threads fit the default limits."""

from __future__ import annotations

import pytest

from autograder.sandbox import GIB, Limits, Outcome, best_level, list_artifacts, load_keras_model

CODE = """
import os
import keras, numpy as np
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile("adam", "binary_crossentropy")
model.fit(np.zeros((32, 8)), np.zeros(32), epochs=1, verbose=0)
model.save(os.path.join(os.environ["SANDBOX_OUT"], "model.keras"))
print("keras", keras.__version__)
"""


@pytest.mark.slow
def test_keras_trains_and_saves_inside_the_strongest_sandbox(tmp_path):
    from sandbox_testing import Box

    box = Box(best_level(), tmp_path)
    limits = Limits(wall_time_s=180, memory_bytes=4 * GIB, max_processes=256)
    result = box.run(CODE, limits, env={"TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.outcome is Outcome.OK, result.message + result.stderr.text[-2000:]
    assert result.stdout.text.startswith("keras 3.")
    assert list_artifacts(box.out) == ["model.keras"]
    model = load_keras_model(box.out, "model.keras")
    assert model.count_params() == 9
