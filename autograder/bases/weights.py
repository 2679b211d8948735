"""Resolve `keras.applications` ImageNet weight files offline first, for any input size.

Convolution weights do not depend on the input size, so one file saved for 224 px serves
every size: we find whichever size's file exists and, for code that asks Keras for
`weights="imagenet"`, expose it under every size's file name in a Keras cache folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from autograder.data.locate import keras_home

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications"
STANDARD_ROWS = (224, 192, 160, 128, 96)
_V1_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)


class WeightsNotFoundError(FileNotFoundError):
    """No ImageNet weight file could be found or downloaded."""


def weight_filename(architecture: str, alpha: float, rows: int) -> str:
    """The file name Keras uses for a no-top ImageNet weight file.

    Raises:
        ValueError: an architecture or alpha that Keras publishes no weights for.
    """
    if rows not in STANDARD_ROWS:
        raise ValueError(f"Expected rows in {STANDARD_ROWS}. Received: rows={rows}")
    if architecture == "MobileNetV2":
        if float(alpha) not in _V2_ALPHAS:
            raise ValueError(f"Expected alpha in {_V2_ALPHAS} for MobileNetV2. Received: alpha={alpha}")
        return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"
    if architecture == "MobileNet":
        if float(alpha) not in _V1_ALPHA_TEXT:
            raise ValueError(
                f"Expected alpha in {sorted(_V1_ALPHA_TEXT)} for MobileNet. Received: alpha={alpha}"
            )
        return f"mobilenet_{_V1_ALPHA_TEXT[float(alpha)]}_{rows}_tf_no_top.h5"
    raise ValueError(
        f"Expected architecture 'MobileNetV2' or 'MobileNet'. Received: architecture={architecture!r}"
    )


def weight_url(architecture: str, alpha: float, rows: int) -> str:
    folder = "mobilenet_v2" if architecture == "MobileNetV2" else "mobilenet_v1"
    return f"{BASE_URL}/{folder}/{weight_filename(architecture, alpha, rows)}"


def _preferred_rows(image_size: int) -> list[int]:
    exact = [image_size] if image_size in STANDARD_ROWS else []
    return exact + sorted((r for r in STANDARD_ROWS if r != image_size), key=lambda r: (r != 224, -r))


def search_folders(weights_dir: Path | None) -> list[Path]:
    """Folders searched for weight files, in order."""
    folders = [Path(weights_dir)] if weights_dir else []
    return folders + [keras_home() / "models"]


def resolve_weights(
    architecture: str,
    alpha: float,
    image_size: int,
    weights_dir: Path | None = None,
    download: bool = True,
) -> Path:
    """Return a local ImageNet no-top weight file for this base at any input size.

    Order: `weights_dir`, then `$KERAS_HOME/models`, then a download into the Keras cache.
    The file for `image_size` is preferred, then 224 px, then any other size.

    Raises:
        WeightsNotFoundError: nothing local and `download` is off (or the download failed).
    """
    rows = _preferred_rows(image_size)
    names = [weight_filename(architecture, alpha, r) for r in rows]
    folders = search_folders(weights_dir)
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    if not download:
        raise WeightsNotFoundError(
            f"No ImageNet weights for {architecture}(alpha={alpha}) in {[str(f) for f in folders]}. "
            f"Expected one of {names}. Pass --weights-dir or set COURSE_WEIGHTS_DIR."
        )
    import keras  # noqa: PLC0415  (slow import, only when a download is needed)

    try:
        return Path(
            keras.utils.get_file(names[0], weight_url(architecture, alpha, rows[0]), cache_subdir="models")
        )
    except Exception as exc:  # noqa: BLE001  (network errors come in many types)
        raise WeightsNotFoundError(
            f"Could not download {names[0]} ({exc}). Searched {[str(f) for f in folders]}; "
            "pass --weights-dir or set COURSE_WEIGHTS_DIR for offline use."
        ) from exc


def populate_keras_home(target: Path, architecture: str, alpha: float, weights_file: Path) -> Path:
    """Make `target` a Keras home in which `weights="imagenet"` finds `weights_file` at every size.

    Returns the `models/` folder. Links are used where possible, copies otherwise.
    """
    models = Path(target) / "models"
    models.mkdir(parents=True, exist_ok=True)
    source = Path(weights_file).resolve()
    for rows in STANDARD_ROWS:
        link = models / weight_filename(architecture, alpha, rows)
        if link.exists() or link.is_symlink():
            continue
        try:
            os.symlink(source, link)
        except FileExistsError:  # another process linked it first
            continue
        except OSError:
            shutil.copyfile(source, link)
    return models
