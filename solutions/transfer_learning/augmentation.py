"""Part 1: data augmentation, and test-time augmentation (TTA) with ten crops.

With only 2,000 training images a convnet overfits quickly. Random flips, shifts and zooms
show it a slightly different picture of each cat or dog at every epoch. At test time we can
also average the model's predictions over several crops of each image.
"""

import keras
import numpy as np
from keras import layers


def build_augmentation(height, width, seed=None):
    """Build the data-augmentation block used while training.

    The block maps a batch of images (N, height, width, 3) to a batch of the same shape and
    dtype. While training it flips each image left-right at random (never upside down: a dog
    standing on its head is not a photo we expect), translates it by up to 10% of its height
    and width, and zooms in or out by up to 20%. At inference (`training=False`, as in
    `model.predict` or `model.evaluate`) it returns its input unchanged. It never touches the
    labels.

    Example:
        >>> augment = build_augmentation(150, 150, seed=0)
        >>> augment(images, training=True).shape == images.shape
        True

    Args:
        height: image height in pixels.
        width: image width in pixels.
        seed: an int to make the random transformations reproducible, or None.

    Returns:
        A `keras.Sequential` of Keras preprocessing layers whose input shape is
        (height, width, 3).
    """
    # BEGIN SOLUTION Stack keras.layers.RandomFlip, RandomTranslation and RandomZoom in a keras.Sequential.
    def layer_seed(offset):
        return None if seed is None else seed + offset

    return keras.Sequential(
        [
            keras.Input(shape=(height, width, 3)),
            layers.RandomFlip("horizontal", seed=layer_seed(0)),
            layers.RandomTranslation(0.1, 0.1, seed=layer_seed(1)),
            layers.RandomZoom(0.2, seed=layer_seed(2)),
        ],
        name="augmentation",
    )
    # END SOLUTION


def ten_crops(images, crop_size):
    """Cut the ten standard test-time crops of every image.

    The crops are square, `crop_size` pixels wide, in this order: top-left, top-right,
    bottom-left, bottom-right, centre, then the same five crops mirrored left-right.
    The centre crop starts at row (H - crop_size) // 2 and column (W - crop_size) // 2.

    Example:
        >>> ten_crops(np.zeros((4, 176, 176, 3)), 160).shape
        (10, 4, 160, 160, 3)

    Args:
        images: an array (N, H, W, C) with H and W at least `crop_size`.
        crop_size: the side of each square crop in pixels.

    Returns:
        A numpy array (10, N, crop_size, crop_size, C) with the dtype of `images`.

    Raises:
        ValueError: `crop_size` is larger than the images.
    """
    # BEGIN SOLUTION Slice the four corners and the centre, then mirror them with [:, :, ::-1].
    images = np.asarray(images)
    height, width = images.shape[1], images.shape[2]
    if not 0 < crop_size <= min(height, width):
        raise ValueError(
            f"Expected crop_size between 1 and the image size {min(height, width)}. "
            f"Received: crop_size={crop_size}"
        )
    c = crop_size
    top, left = (height - c) // 2, (width - c) // 2
    five = [
        images[:, :c, :c],
        images[:, :c, width - c :],
        images[:, height - c :, :c],
        images[:, height - c :, width - c :],
        images[:, top : top + c, left : left + c],
    ]
    mirrored = [crop[:, :, ::-1] for crop in five]
    return np.stack(five + mirrored)
    # END SOLUTION


def predict_with_tta(model, images, crop_size):
    """Predict P(dog) for each image as the mean of the model's predictions over its ten crops.

    Args:
        model: a Keras model mapping (N, crop_size, crop_size, 3) images to (N, 1)
            probabilities.
        images: an array (N, H, W, 3), at least `crop_size` on each side.
        crop_size: the side of the crops (the model's input size).

    Returns:
        A numpy array (N,) of float probabilities: for each image, the mean over its ten crops
        (see `ten_crops`) of the model's predicted probability.
    """
    # BEGIN SOLUTION Predict each of the ten crops with model.predict and average over the crops.
    crops = ten_crops(images, crop_size)
    predictions = [model.predict(crop, verbose=0).reshape(-1) for crop in crops]
    return np.mean(predictions, axis=0)
    # END SOLUTION
