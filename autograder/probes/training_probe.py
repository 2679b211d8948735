"""Worker-side helpers: the grader's own base, and callbacks described as data.

The training probes and compile descriptions that used to be made here run in the grader now,
on the returned models (`autograder.grading.measure`), out of the student's process.
"""

from __future__ import annotations

from autograder.checks.callbacks import describe_callbacks

__all__ = ["describe_callbacks", "reference_base"]


def reference_base(settings: dict):
    """The pretrained base built by the grader's code (never the student's), frozen."""
    import keras  # noqa: PLC0415

    size = settings["base_size"]
    factory = getattr(keras.applications, settings["architecture"])
    base = factory(input_shape=(size, size, 3), alpha=settings["alpha"], include_top=False, weights=settings["weights_file"])
    base.trainable = False
    return base
