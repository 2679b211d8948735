"""The augmentation block, by behaviour: statistics over many random draws, never source text.

Two synthetic probe images make each transformation measurable whatever the others do:
- a ramp, brighter to the right and (less steeply) to the bottom: a horizontal flip reverses
  its left-right slope, a vertical flip its top-bottom slope. Translations of 10% and zooms of
  20% leave the slopes' signs alone in the central half of the image, which is all we fit.
- a Gaussian blob at the exact centre: flips leave it in place, zoom (about the centre)
  scales its spread, translation moves its centroid.

`measure_flips` and `measure_geometry` call the block and return plain numbers; the `check_*`
functions judge them. The bounds have a tolerance for interpolation, and the rates a margin of
five binomial standard deviations, so a correct block does not fail by bad luck.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from autograder.checks.result import CheckResult, expected_received, failed, passed

Augment = Callable[..., object]

SAMPLES = 256
CALLS = 4  # the samples are split over several calls, in case a block draws once per batch
TRANSLATION_TOLERANCE_PX = 1.0
ZOOM_TOLERANCE = 0.06
MIN_SIDE = 32


def apply(augment: Augment, images: np.ndarray, training: bool) -> np.ndarray:
    """Call the block on `images` and return a numpy array."""
    return np.asarray(keras.ops.convert_to_numpy(augment(images, training=training)))


def ramp_image(height: int, width: int) -> np.ndarray:
    """The flip probe: 0-255, increasing to the right (steeply) and to the bottom (gently)."""
    rows = np.linspace(0.0, 1.0, height)[:, None]
    cols = np.linspace(0.0, 1.0, width)[None, :]
    image = 40.0 + 140.0 * cols + 60.0 * rows
    return np.repeat(image[:, :, None], 3, axis=2).astype("float32")


def blob_image(height: int, width: int) -> np.ndarray:
    """The translation/zoom probe: a Gaussian blob (sigma = side / 12, at least 3px) at the exact centre."""
    sigma = max(min(height, width) / 12, 3.0)
    rows = np.arange(height)[:, None] - (height - 1) / 2
    cols = np.arange(width)[None, :] - (width - 1) / 2
    image = 255.0 * np.exp(-(rows**2 + cols**2) / (2 * sigma**2))
    return np.repeat(image[:, :, None], 3, axis=2).astype("float32")


def _draw(augment: Augment, image: np.ndarray, samples: int) -> np.ndarray:
    if min(image.shape[:2]) < MIN_SIDE:
        raise ValueError(f"Expected probe images of at least {MIN_SIDE}px a side. Received: shape={image.shape[:2]}")
    per_call = max(1, samples // CALLS)
    batches = [
        apply(augment, np.repeat(image[None], per_call, axis=0), True) for _ in range(max(1, samples // per_call))
    ]
    return np.concatenate(batches)


@dataclass(frozen=True)
class FlipStats:
    """How often the ramp came back mirrored left-right and upside down, over `samples` draws."""

    samples: int
    horizontal: int
    vertical: int
    unclear: int

    @property
    def horizontal_rate(self) -> float:
        return self.horizontal / self.samples

    @property
    def vertical_rate(self) -> float:
        return self.vertical / self.samples


def measure_flips(augment: Augment, height: int, width: int, samples: int = SAMPLES) -> FlipStats:
    """Count the flips the block applies while training, with the ramp probe."""
    probe = ramp_image(height, width)
    outputs = _draw(augment, probe, samples).mean(axis=-1)
    top, left = height // 4, width // 4

    def slopes(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Each image is rescaled to its own 0..1 range first, so a block that also changes the
        # intensities (a Rescaling layer, say: a mistake of its own) still shows its flips.
        centre = images[:, top : height - top, left : width - left].astype("float64")
        low = centre.min(axis=(1, 2), keepdims=True)
        span = np.maximum(centre.max(axis=(1, 2), keepdims=True) - low, 1e-9)
        centre = (centre - low) / span
        return np.diff(centre, axis=2).mean(axis=(1, 2)), np.diff(centre, axis=1).mean(axis=(1, 2))

    slope_x, slope_y = slopes(outputs)
    probe_x, probe_y = slopes(probe.mean(axis=-1)[None])
    floor_x, floor_y = 0.25 * float(probe_x[0]), 0.25 * float(probe_y[0])  # a quarter of the probe's slopes
    unclear = int(np.sum((np.abs(slope_x) < floor_x) | (np.abs(slope_y) < floor_y)))
    return FlipStats(len(outputs), int(np.sum(slope_x <= -floor_x)), int(np.sum(slope_y <= -floor_y)), unclear)


@dataclass(frozen=True)
class Geometry:
    """Per draw: the blob's displacement in pixels (dx right, dy down) and magnification per axis."""

    height: int
    width: int
    dx: np.ndarray
    dy: np.ndarray
    scale_x: np.ndarray
    scale_y: np.ndarray


def _moments(images: np.ndarray) -> tuple[np.ndarray, ...]:
    weights = np.clip(images.mean(axis=-1).astype("float64"), 0.0, None)
    total = weights.sum(axis=(1, 2)) + 1e-12
    rows = np.arange(images.shape[1])[None, :, None]
    cols = np.arange(images.shape[2])[None, None, :]
    cy = (weights * rows).sum(axis=(1, 2)) / total
    cx = (weights * cols).sum(axis=(1, 2)) / total
    vy = (weights * (rows - cy[:, None, None]) ** 2).sum(axis=(1, 2)) / total
    vx = (weights * (cols - cx[:, None, None]) ** 2).sum(axis=(1, 2)) / total
    return cy, cx, vy, vx


def measure_geometry(augment: Augment, height: int, width: int, samples: int = SAMPLES) -> Geometry:
    """Measure displacement and magnification of the blob probe over `samples` draws."""
    probe = blob_image(height, width)
    cy0, cx0, vy0, vx0 = (m[0] for m in _moments(probe[None]))
    cy, cx, vy, vx = _moments(_draw(augment, probe, samples))
    return Geometry(height, width, cx - cx0, cy - cy0, np.sqrt(vx / vx0), np.sqrt(vy / vy0))


def check_output_shape_and_dtype(
    augment: Augment, images: np.ndarray, *, name: str = "augmentation keeps shape and dtype"
) -> CheckResult:
    """The block maps a batch to a batch of the same shape and dtype, training or not."""
    for training in (True, False):
        out = apply(augment, images, training)
        if out.shape != images.shape or out.dtype != images.dtype:
            return failed(
                name,
                expected_received(
                    f"the augmentation block to return shape {images.shape} and dtype {images.dtype} "
                    f"(training={training})",
                    shape=out.shape,
                    dtype=out.dtype,
                ),
            )
    return passed(name, f"shape {images.shape} and dtype {images.dtype} kept")


def check_identity_at_inference(
    augment: Augment, images: np.ndarray, *, atol: float = 1e-4, name: str = "augmentation is the identity at inference"
) -> CheckResult:
    """With `training=False` the block returns its input unchanged (within `atol`, 0-255 pixels)."""
    out = apply(augment, images, False)
    if out.shape != images.shape:
        return failed(
            name, expected_received(f"the images unchanged at training=False, shape {images.shape}", shape=out.shape)
        )
    diff = np.abs(out.astype("float64") - images.astype("float64"))
    if diff.max() > atol:
        return failed(
            name,
            expected_received(
                "the images unchanged at training=False (as in model.predict)",
                max_abs_difference=f"{diff.max():.4g}",
                images_changed=f"{int(np.sum(diff.reshape(len(images), -1).max(axis=1) > atol))} of {len(images)}",
            ),
        )
    return passed(name, f"{len(images)} images unchanged at training=False")


def check_flips(
    stats: FlipStats, *, horizontal: bool = True, vertical: bool = False, name: str = "random flips"
) -> CheckResult:
    """Horizontal flips about half the time (if wanted, else never); vertical flips never (if not wanted)."""
    margin = 2.5 / np.sqrt(stats.samples)  # five binomial standard deviations at p = 0.5
    problems = {}
    if stats.unclear > stats.samples // 10:
        problems["unreadable_draws"] = f"{stats.unclear} of {stats.samples} (too distorted to tell)"
    for axis, wanted, rate in (
        ("horizontal", horizontal, stats.horizontal_rate),
        ("vertical", vertical, stats.vertical_rate),
    ):
        if wanted and abs(rate - 0.5) > margin:
            problems[f"{axis}_flip_rate"] = f"{rate:.2f}"
        if not wanted and rate > 0:
            problems[f"{axis}_flip_rate"] = f"{rate:.2f}"
    if problems:
        want = " and ".join(
            f"{axis} flips {'about half of the time' if wanted else 'never'}"
            for axis, wanted in (("horizontal", horizontal), ("vertical", vertical))
        )
        return failed(name, expected_received(f"{want} (over {stats.samples} draws)", **problems))
    return passed(
        name, f"horizontal {stats.horizontal_rate:.2f}, vertical {stats.vertical_rate:.2f} of {stats.samples} draws"
    )


def check_translation(
    geometry: Geometry,
    height_factor: float = 0.1,
    width_factor: float = 0.1,
    *,
    tolerance_px: float = TRANSLATION_TOLERANCE_PX,
    name: str = "random translation within bounds",
) -> CheckResult:
    """Shifts stay within the factors (times the zoom, which may follow) and reach at least half of them."""
    problems = {}
    for axis, shift, scale, factor, side in (
        ("horizontal", geometry.dx, geometry.scale_x, width_factor, geometry.width),
        ("vertical", geometry.dy, geometry.scale_y, height_factor, geometry.height),
    ):
        limit = factor * side
        allowed = limit * np.maximum(1.0, scale) + tolerance_px
        largest = float(np.max(np.abs(shift)))
        if np.any(np.abs(shift) > allowed):
            problems[f"largest_{axis}_shift"] = f"{largest:.1f}px"
        elif factor > 0 and largest < 0.5 * limit:
            problems[f"largest_{axis}_shift"] = f"{largest:.1f}px (too small: no translation?)"
    if problems:
        return failed(
            name,
            expected_received(
                f"shifts of up to {height_factor:.0%} of the height ({height_factor * geometry.height:.1f}px) and "
                f"{width_factor:.0%} of the width ({width_factor * geometry.width:.1f}px), over {len(geometry.dx)} draws",
                **problems,
            ),
        )
    return passed(
        name,
        f"largest shifts {np.max(np.abs(geometry.dx)):.1f}px horizontally, {np.max(np.abs(geometry.dy)):.1f}px vertically",
    )


def check_zoom(
    geometry: Geometry,
    factor: float = 0.2,
    *,
    tolerance: float = ZOOM_TOLERANCE,
    name: str = "random zoom within bounds",
) -> CheckResult:
    """Magnification within [1/(1+factor), 1/(1-factor)] on both axes, both ends at least half reached."""
    low, high = 1.0 / (1.0 + factor), 1.0 / (1.0 - factor)
    scales = np.concatenate([geometry.scale_x, geometry.scale_y])
    smallest, largest = float(scales.min()), float(scales.max())
    out_of_bounds = smallest < low - tolerance or largest > high + tolerance
    too_narrow = factor > 0 and (smallest > 1.0 / (1.0 + factor / 2) or largest < 1.0 / (1.0 - factor / 2))
    if out_of_bounds or too_narrow:
        return failed(
            name,
            expected_received(
                f"zooms of up to {factor:.0%} in and out: magnifications from {low:.2f} to {high:.2f}, "
                f"over {len(geometry.dx)} draws",
                magnification=f"{smallest:.2f} to {largest:.2f}",
            ),
        )
    return passed(name, f"magnifications from {smallest:.2f} to {largest:.2f}")


def check_in_tf_data(
    augment: Augment, images: np.ndarray, labels: np.ndarray, *, name: str = "augmentation inside a tf.data map"
) -> CheckResult:
    """The block works in `Dataset.map` (graph mode): same shapes, labels untouched, images changed.

    On JAX and PyTorch a `Sequential` block is mapped as `keras.layers.Pipeline(block.layers)`,
    the Keras way to use preprocessing layers in tf.data on those backends.
    """
    try:
        import tensorflow as tf  # the one TensorFlow-specific check: tf.data is the point
    except ImportError:
        # A grading machine set up with JAX or PyTorch alone (a GPU node) has no tf.data to map in:
        # nothing the submission did, so it is not held against it; said in the row (README "GPUs").
        return passed(name, "not checked on this machine: TensorFlow (tf.data) is not installed where it was graded")

    block = augment
    if keras.backend.backend() != "tensorflow" and isinstance(augment, keras.Sequential):
        # On JAX and PyTorch a Sequential runs its ops on that backend, which tf.data's graph
        # cannot take; Keras's Pipeline of the same layers (the same objects, weights and seeds)
        # is how those backends put preprocessing layers in a tf.data map.
        block = keras.layers.Pipeline(augment.layers)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(len(images))
    mapped = dataset.map(lambda x, y: (block(x, training=True), y))
    out_images, out_labels = (np.asarray(t) for t in next(iter(mapped)))
    if out_images.shape != images.shape:
        return failed(name, expected_received(f"images of shape {images.shape} out of the map", shape=out_images.shape))
    if not np.array_equal(out_labels, labels):
        return failed(
            name, expected_received("the labels unchanged by the map", labels_changed=int(np.sum(out_labels != labels)))
        )
    if np.allclose(out_images, images):
        return failed(name, expected_received("the images augmented inside the map", images_changed=0))
    return passed(name, f"{len(images)} images augmented inside a tf.data map, labels untouched")


def check_in_model(augment: Augment, images: np.ndarray, *, name: str = "augmentation inside a model") -> CheckResult:
    """The block works as a layer of a model: identity in `predict`, active under `training=True`."""
    if not isinstance(augment, keras.layers.Layer):
        return failed(name, expected_received("a Keras layer or model", type=type(augment).__name__))
    inputs = keras.Input(shape=images.shape[1:])
    model = keras.Model(inputs, augment(inputs))
    predicted = np.asarray(model.predict(images, verbose=0))
    trained = np.asarray(keras.ops.convert_to_numpy(model(images, training=True)))
    if predicted.shape != images.shape:
        return failed(
            name,
            expected_received(
                f"model.predict to return the images unchanged, shape {images.shape}", shape=predicted.shape
            ),
        )
    if not np.allclose(predicted, images, atol=1e-4):
        difference = float(np.max(np.abs(predicted.astype("float64") - images)))
        return failed(
            name,
            expected_received("model.predict to return the images unchanged", max_abs_difference=f"{difference:.4g}"),
        )
    if np.allclose(trained, images):
        return failed(
            name,
            expected_received("the images augmented when the model is called with training=True", images_changed=0),
        )
    return passed(name, "identity in predict, augmenting with training=True")
