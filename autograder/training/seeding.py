"""Seeds and deterministic ops, on whichever Keras backend is active."""

from __future__ import annotations

import os


def quiet_backend_logs() -> None:
    """Silence TensorFlow's C++ start-up chatter before Keras is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend; ask TensorFlow for deterministic ops where it runs."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415

        tf.config.experimental.enable_op_determinism()
