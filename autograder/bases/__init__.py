"""Pretrained `keras.applications` bases and their ImageNet weights, resolved offline first."""

from autograder.bases.weights import (
    WeightsNotFoundError,
    populate_keras_home,
    resolve_weights,
    weight_filename,
)

__all__ = ["WeightsNotFoundError", "populate_keras_home", "resolve_weights", "weight_filename"]
