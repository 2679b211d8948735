"""Part 1: a dense network on 8x8 handwritten digits.

Each image is 8x8 pixels with one channel, values 0 to 16 (scikit-learn's digits). A small
fully connected network already reads most of them; part 2 shows what convolutions add.
"""

import keras
from keras import layers


def build_dense_network(input_shape=(8, 8, 1), hidden_units=64, dropout=0.2, num_classes=10):
    """Build the dense classifier with the Functional API.

    Layers, in order: an Input of `input_shape`; Rescaling(1/16) (pixel values 0-16 become
    0-1); Flatten; Dense(`hidden_units`, relu); Dropout(`dropout`); Dense(`num_classes`,
    softmax), one probability per digit.

    At 8x8x1 with the defaults the model has exactly 4,810 parameters.

    Example:
        >>> build_dense_network().count_params()
        4810

    Args:
        input_shape: (height, width, channels) of the input images, pixel values 0-16.
        hidden_units: the width of the hidden Dense layer.
        dropout: the Dropout rate after the hidden layer (a Dropout layer is always there).
        num_classes: how many classes the output layer predicts.

    Returns:
        An uncompiled `keras.Model` named "dense_network".
    """
    raise NotImplementedError('build_dense_network: keras.Input(shape=input_shape), then the layers above in order, then keras.Model(inputs, outputs, name=...).')


def compile_dense_network(model, learning_rate=1e-3):
    """Compile a digit classifier.

    Optimizer Adam with `learning_rate`; sparse categorical cross-entropy on probabilities
    (labels are integers 0-9, from_logits=False); the "accuracy" metric.

    Args:
        model: the model from `build_dense_network`.
        learning_rate: Adam's learning rate.

    Returns:
        The same model, compiled.
    """
    raise NotImplementedError('compile_dense_network: model.compile(optimizer=..., loss=..., metrics=[...]), then return the model.')
