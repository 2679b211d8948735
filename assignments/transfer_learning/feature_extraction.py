"""Part 3: an ImageNet-pretrained base as a frozen feature extractor.

MobileNetV2 learned general visual features on 1.4 million ImageNet images. We keep its
convolutional base frozen and either (a) fit a linear classifier on its pooled features,
or (b) train a new head on top of it, end to end, with augmentation.
"""

import keras
import numpy as np
from keras import layers
from sklearn.linear_model import LogisticRegression


def load_base(input_shape=(160, 160, 3), alpha=0.5, weights="imagenet"):
    """Load the pretrained convolutional base, frozen.

    Args:
        input_shape: (height, width, 3) of the images the base will see.
        alpha: the MobileNetV2 width multiplier (0.35, 0.5, 0.75, 1.0, ...).
        weights: "imagenet", or the path of a Keras ImageNet weight file.

    Returns:
        `keras.applications.MobileNetV2` with `include_top=False` and the given input shape,
        alpha and weights, with `trainable` set to False (so all of its weights are
        non-trainable). Its output is the last feature map (N, h, w, C), not pooled.
    """
    raise NotImplementedError('load_base: keras.applications.MobileNetV2(..., include_top=False), then freeze it.')


def extract_features(base, images, batch_size=64):
    """Compute one feature vector per image with the frozen base.

    The images (pixel values 0-255) go through
    `keras.applications.mobilenet_v2.preprocess_input` (scaling to [-1, 1]), then through the
    base in inference mode (`base.predict`, so BatchNormalization uses its moving statistics),
    and the feature maps are averaged over height and width (global average pooling).
    `images` itself is left unchanged.

    Args:
        base: the frozen base from `load_base`.
        images: an array (N, H, W, 3) with pixel values 0-255 at the base's input size.
        batch_size: how many images go through the base at once.

    Returns:
        A float numpy array (N, C), C being the base's number of output channels.
    """
    raise NotImplementedError('extract_features: Preprocess a float copy of the images, base.predict them, then average over axes 1 and 2.')


def fit_linear_classifier(features, labels):
    """Fit a linear classifier on frozen features ("CNN features + a linear model").

    Args:
        features: an array (N, C) from `extract_features`.
        labels: an array (N,) of 0 (cat) and 1 (dog).

    Returns:
        A fitted scikit-learn linear classifier with `predict_proba`, whose column 1 is
        P(dog), for example a `LogisticRegression`.
    """
    raise NotImplementedError('fit_linear_classifier: sklearn.linear_model.LogisticRegression(max_iter=...).fit(features, labels).')


def build_transfer_model(base, augmentation=None, dropout=0.2):
    """Build the end-to-end model in which only the new head trains.

    Layers, in order: an Input of the base's input shape; the `augmentation` block if one is
    given; `keras.applications.mobilenet_v2.preprocess_input` (or an equivalent layer such as
    `Rescaling(1/127.5, offset=-1)`: what this step computes counts, not how it is written);
    the base, called with `training=False` (so its BatchNormalization layers stay in inference
    mode, also later when the base is fine-tuned); GlobalAveragePooling2D; Dropout(`dropout`);
    Dense(1, sigmoid).

    Args:
        base: the frozen base from `load_base`.
        augmentation: a Keras layer or model applied to the input images, or None.
        dropout: the dropout rate before the output layer.

    Returns:
        An uncompiled `keras.Model` whose trainable weights are the Dense head only
        (C * 1 + 1 parameters).
    """
    raise NotImplementedError('build_transfer_model: Functional API; remember training=False when you call the base.')


def compile_transfer_model(model, learning_rate=1e-4):
    """Compile the transfer model.

    Optimizer Adam with `learning_rate`, binary cross-entropy on probabilities
    (from_logits=False), and the "accuracy" metric.

    Args:
        model: the model from `build_transfer_model`.
        learning_rate: Adam's learning rate.

    Returns:
        The same model, compiled.
    """
    raise NotImplementedError('compile_transfer_model: model.compile with keras.optimizers.Adam(learning_rate=learning_rate).')
