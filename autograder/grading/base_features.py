"""Features for the linear classifier: shared when the student's base is the reference's, else their own.

The reference base's features of the training, validation and hidden splits are computed once
per profile (with the grading inputs) and shared by every submission whose `load_base` returns
the same base: the same weight tensors with the same values. Any other base (another alpha or
input size, `weights=None`, a different architecture) gets features of its own, computed here
in the grader process with the student's base (a `.keras` loaded in safe mode: data, not code)
and the reference's preprocessing and pooling; the student's `fit_linear_classifier` is then
run again, in the sandbox, on those features. A base that was not built at all (load_base
failed) costs the load_base checks; the linear classifier is then fitted on the reference's
features so that one mistake is not scored twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.checks._layers import to_numpy
from autograder.training.pipeline import SplitLoader

ATOL = 1e-6


def base_difference(student, reference) -> str | None:
    """None when `student` holds the reference's weights at its input size; else what differs."""
    if tuple(student.input_shape) != tuple(reference.input_shape):
        return f"input shape {tuple(student.input_shape)}, the reference's is {tuple(reference.input_shape)}"
    got, want = student.weights, reference.weights
    if len(got) != len(want):
        return f"{len(got)} weight tensors, the reference's base has {len(want)}"
    for a, b in zip(got, want):
        if tuple(a.shape) != tuple(b.shape):
            return f"weight `{a.path}` has shape {tuple(a.shape)}, the reference's {tuple(b.shape)}"
    for a, b in zip(got, want):
        if not np.allclose(to_numpy(a), to_numpy(b), atol=ATOL):
            return f"weight `{a.path}` differs from the reference's ImageNet weights"
    return None


def features_of(base, extract_features, load: SplitLoader, default_size: int) -> dict[str, np.ndarray]:
    """`linear.npz`'s arrays for `base`: train, labels, validation and hidden-test features.

    `extract_features` is the reference's (trusted) function; the images are the grader's, at
    the base's own input size when it has one.
    """
    size = base.input_shape[1] if isinstance(base.input_shape[1], int) else default_size
    train, validation, test = (load(split, size) for split in ("train", "validation", "test"))
    return {
        "train": np.asarray(extract_features(base, train.images), "float32"),
        "labels": train.labels,
        "validation": np.asarray(extract_features(base, validation.images), "float32"),
        "test": np.asarray(extract_features(base, test.images), "float32"),
    }


def write_linear_inputs(folder: Path, arrays: dict[str, np.ndarray], seed: int) -> Path:
    """A folder the sandboxed worker may read, holding only the training features and labels.

    Rows are in a seeded random order; the validation and hidden features stay with the grader.
    """
    from autograder.grading.inputs import shuffled  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    train, labels = shuffled(seed, arrays["train"], arrays["labels"])
    np.savez(folder / "linear.npz", train=train, labels=labels)
    folder.chmod(0o755)
    (folder / "linear.npz").chmod(0o644)
    return folder
