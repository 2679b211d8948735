"""The lab's data: locate the folders, decode and cache images, pick a profile's subsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.config import CourseConfig, Locations, Profile
from autograder.data.images import (
    CorruptImageWarning,
    ImageSet,
    balanced_subset,
    decode_image,
    list_labelled_files,
    load_images,
)
from autograder.data.locate import (
    DataNotFoundError,
    keras_home,
    locate_dataset,
    locate_hidden_test,
)

SPLITS = ("train", "validation", "test")

__all__ = [
    "SPLITS",
    "CorruptImageWarning",
    "DataNotFoundError",
    "ImageSet",
    "balanced_subset",
    "decode_image",
    "keras_home",
    "list_labelled_files",
    "load_images",
    "load_split",
    "locate_dataset",
    "locate_hidden_test",
]


def split_folder(config: CourseConfig, locations: Locations, split: str, download: bool = True) -> Path:
    """The folder of one split: `train` and `validation` of the dataset, `test` = the hidden split."""
    if split == "test":
        return locate_hidden_test(config, locations)
    if split not in SPLITS:
        raise ValueError(f"Expected split to be one of {SPLITS}. Received: split={split!r}")
    return locate_dataset(config, locations, download=download) / split


def load_split(
    config: CourseConfig,
    locations: Locations,
    profile: Profile,
    split: str,
    image_size: int,
    download: bool = True,
) -> ImageSet:
    """Load one split at `image_size`, limited to the profile's image count (balanced, seeded)."""
    limit = {
        "train": profile.train_images,
        "validation": profile.validation_images,
        "test": profile.test_images,
    }[split] if split in SPLITS else None
    folder = split_folder(config, locations, split, download=download)
    files = balanced_subset(list_labelled_files(folder, config.data.classes), limit, profile.seed)
    if split != "train":
        # Held-out rows in a seeded random order, never sorted by label: a row's position says
        # nothing about its class. (The training split's order is only `fit`'s starting point
        # and keeps the order the calibrations were measured with; its labels are given anyway.)
        order = np.random.default_rng(profile.seed).permutation(len(files))
        files = [files[i] for i in order]
    return load_images(
        files, image_size, cache_dir=locations.cache_dir, description=f"Decoding {split} ({image_size}px)"
    )
