"""Part 2: a small convnet on the same digits.

Two 3x3 convolutions see strokes and their neighbours; global average pooling keeps the model
small enough for 1,200 training images.
"""

import keras
from keras import layers


def build_convnet(input_shape=(8, 8, 1), filters=16, dropout=0.2, num_classes=10):
    """Build the small convnet with the Functional API.

    Layers, in order: an Input of `input_shape`; Rescaling(1/16); Conv2D(`filters`, 3x3,
    padding "same", relu); MaxPooling2D(2); Conv2D(2 x `filters`, 3x3, padding "same", relu);
    GlobalAveragePooling2D; Dropout(`dropout`); Dense(`num_classes`, softmax).

    At 8x8x1 with the defaults the model has exactly 5,130 parameters.

    Example:
        >>> build_convnet().count_params()
        5130

    Args:
        input_shape: (height, width, channels) of the input images, pixel values 0-16.
        filters: the first convolution's filters (the second has twice as many).
        dropout: the Dropout rate before the output layer (a Dropout layer is always there).
        num_classes: how many classes the output layer predicts.

    Returns:
        An uncompiled `keras.Model` named "convnet".
    """
    # BEGIN SOLUTION keras.Input(shape=input_shape), then the layers above in order, then keras.Model(inputs, outputs, name=...).
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 16)(inputs)
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(2 * filters, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="convnet")
    # END SOLUTION


def compile_convnet(model, learning_rate=3e-3):
    """Compile the convnet.

    Optimizer Adam with `learning_rate`; sparse categorical cross-entropy on probabilities
    (from_logits=False); the "accuracy" metric.

    Args:
        model: the model from `build_convnet`.
        learning_rate: Adam's learning rate.

    Returns:
        The same model, compiled.
    """
    # BEGIN SOLUTION model.compile(optimizer=..., loss=..., metrics=[...]), then return the model.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model
    # END SOLUTION
