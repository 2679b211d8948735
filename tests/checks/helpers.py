"""Tiny models and helpers shared by the check library's tests (a few hundred parameters)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import keras
from keras import layers

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions" / "transfer_learning"


def load_solution(module: str):
    """Import a reference solution module by path, under a private name."""
    name = f"_reference_{module}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SOLUTIONS / f"{module}.py")
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        sys.modules[name] = loaded
    return sys.modules[name]


def tiny_base(name: str = "base") -> keras.Model:
    """A pretend pretrained base: Conv2D -> BatchNormalization -> Conv2D on 8x8x3 images."""
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="conv_a")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Conv2D(4, 3, activation="relu", name="conv_b")(x)
    return keras.Model(inputs, x, name=name)


def tiny_transfer(base: keras.Model) -> keras.Model:
    """Base (in inference mode) -> pooling -> dropout -> one sigmoid output, like the lab's model."""
    inputs = keras.Input((8, 8, 3))
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1, activation="sigmoid", name="head")(x)
    return keras.Model(inputs, outputs, name="transfer")


def compile_binary(model: keras.Model, optimizer: str = "adam", learning_rate: float = 1e-2) -> keras.Model:
    optimizers = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    model.compile(
        optimizer=optimizers[optimizer](learning_rate=learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=["accuracy"],
    )
    return model
