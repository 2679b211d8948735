"""Part 2: a small convnet trained from scratch, with and without augmentation.

This is the classic four-block convnet for 150x150 cats-vs-dogs images. Trained on
2,000 images it overfits after a few epochs; augmentation and dropout push that back.
"""

import keras
from keras import layers


def build_scratch_cnn(input_shape=(150, 150, 3), augmentation=None, dropout=0.0):
    """Build the small convnet.

    Layers, in order: an Input of `input_shape`; the `augmentation` block if one is given;
    Rescaling(1/255); four blocks of Conv2D (32, 64, 128, then 128 filters, 3x3, relu) each
    followed by MaxPooling2D(2); Flatten; Dropout(`dropout`) if `dropout` > 0; Dense(512, relu);
    Dense(1, sigmoid), the predicted probability that the image is a dog.

    At 150x150x3 the model has exactly 3,453,121 parameters (augmentation and dropout add none).

    Example:
        >>> build_scratch_cnn().count_params()
        3453121

    Args:
        input_shape: (height, width, channels) of the input images, pixel values 0-255.
        augmentation: a Keras layer or model applied right after the input, or None.
        dropout: the dropout rate before the Dense(512) layer; 0 means no Dropout layer.

    Returns:
        An uncompiled `keras.Model` with one sigmoid output.
    """
    raise NotImplementedError('build_scratch_cnn: Use the Functional API: keras.Input, then the layers in the order above.')


def compile_scratch_cnn(model):
    """Compile the convnet for binary classification.

    Optimizer RMSprop with learning rate 1e-4, binary cross-entropy on probabilities
    (from_logits=False), and the "accuracy" metric.

    Args:
        model: the model from `build_scratch_cnn`.

    Returns:
        The same model, compiled.
    """
    raise NotImplementedError('compile_scratch_cnn: model.compile(optimizer=..., loss=..., metrics=[...]), then return the model.')
