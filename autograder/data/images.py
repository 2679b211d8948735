"""Decode, resize and cache labelled JPEG folders as uint8 arrays."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from rich.progress import track

from autograder.terminal import make_console

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}
CACHE_VERSION = 1


class CorruptImageWarning(UserWarning):
    """An image file could not be decoded and was skipped."""


@dataclass(frozen=True)
class ImageSet:
    """Images (N, H, W, 3) uint8, labels (N,) int32 (index into the class list) and their files."""

    images: np.ndarray
    labels: np.ndarray
    files: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def list_labelled_files(folder: Path, classes: tuple[str, ...]) -> list[tuple[Path, int]]:
    """Every image file under `folder/<class>/`, sorted, with its label (the class's index)."""
    out = []
    for label, cls in enumerate(classes):
        files = sorted(p for p in (folder / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        out += [(p, label) for p in files]
    return out


def balanced_subset(
    files: list[tuple[Path, int]], limit: int | None, seed: int
) -> list[tuple[Path, int]]:
    """A seeded subset of at most `limit` files, as even across labels as the folder allows."""
    if limit is None or limit >= len(files):
        return files
    rng = np.random.default_rng(seed)
    labels = sorted({label for _, label in files})
    chosen: list[tuple[Path, int]] = []
    for i, label in enumerate(labels):
        pool = [f for f in files if f[1] == label]
        share = limit // len(labels) + (1 if i < limit % len(labels) else 0)
        picks = rng.permutation(len(pool))[:share]
        chosen += [pool[j] for j in sorted(picks)]
    return chosen


def decode_image(path: Path, image_size: int) -> np.ndarray:
    """Decode one image to RGB, resized (bilinear) to image_size x image_size, as uint8."""
    with Image.open(path) as img:
        img.draft("RGB", (image_size, image_size))
        rgb = img.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8)


def _cache_key(files: list[tuple[Path, int]], image_size: int) -> str:
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, image_size]).encode())
    for path, label in files:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def _write_atomic(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_images(
    files: list[tuple[Path, int]],
    image_size: int,
    cache_dir: Path | None = None,
    description: str = "Decoding images",
) -> ImageSet:
    """Decode `files` (or read them from the on-disk cache), skipping corrupt ones with a warning.

    The cache key covers each file's path, size and mtime and the image size, so a changed
    folder is decoded again.
    """
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / "images" / f"{_cache_key(files, image_size)}-{image_size}px.npz"
        if cache_file.is_file():
            with np.load(cache_file, allow_pickle=False) as data:
                return ImageSet(data["images"], data["labels"], tuple(str(f) for f in data["files"]))
    images, labels, kept = [], [], []
    console = make_console(stderr=True)
    for path, label in track(files, description=description, console=console, transient=True):
        try:
            images.append(decode_image(path, image_size))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            warnings.warn(
                f"Skipped {path}: not a readable image ({type(exc).__name__}: {exc})",
                CorruptImageWarning,
                stacklevel=2,
            )
            continue
        labels.append(label)
        kept.append(str(path))
    result = ImageSet(
        np.stack(images) if images else np.zeros((0, image_size, image_size, 3), np.uint8),
        np.asarray(labels, dtype=np.int32),
        tuple(kept),
    )
    if cache_file is not None:
        _write_atomic(cache_file, images=result.images, labels=result.labels, files=np.asarray(kept))
    return result
