"""Find the cats-vs-dogs images: a configured folder, the Keras dataset cache, or a download."""

from __future__ import annotations

import os
from pathlib import Path

from autograder.config import CourseConfig, Locations


class DataNotFoundError(FileNotFoundError):
    """A dataset folder is missing or is not in the expected Kaggle layout."""


def keras_home() -> Path:
    """The Keras cache root (`$KERAS_HOME`, else `~/.keras`), without importing Keras."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def _check_layout(root: Path, splits: tuple[str, ...], classes: tuple[str, ...]) -> Path:
    missing = [
        str(root / split / cls)
        for split in splits
        for cls in classes
        if not (root / split / cls).is_dir()
    ]
    if missing:
        raise DataNotFoundError(
            f"Expected the Kaggle layout {{split}}/{{{','.join(classes)}}}/*.jpg under {root}. "
            f"Missing folders: {missing}"
        )
    return root


def _require_data(config: CourseConfig) -> None:
    if config.data is None:
        raise DataNotFoundError(
            f"Lab {config.course.lab!r} declares no image dataset (no `data:` under labs.{config.course.lab} in course.yaml); "
            "its definition.py loads its data"
        )


def dataset_candidates(config: CourseConfig, locations: Locations) -> list[Path]:
    """Folders searched, in order, for the training/validation set."""
    _require_data(config)
    name = config.data.dataset
    found = []
    if locations.data_dir is not None:
        found.append(locations.data_dir / name)
    datasets = keras_home() / "datasets"
    found += [datasets / f"{name}_extracted" / name, datasets / name]
    return found


def locate_dataset(config: CourseConfig, locations: Locations, download: bool = True) -> Path:
    """Return the folder holding `train/` and `validation/`.

    Looks in the configured data folder first, then the Keras dataset cache, and only then
    downloads `data.download_url` (once; Keras caches it).

    Raises:
        DataNotFoundError: the configured folder is wrong, or nothing is found and `download` is off.
    """
    _require_data(config)
    splits, classes = ("train", "validation"), config.data.classes
    if locations.data_dir is not None:
        # An explicitly configured folder must be right: never fall back silently.
        return _check_layout(locations.data_dir / config.data.dataset, splits, classes)
    for candidate in dataset_candidates(config, locations):
        if candidate.is_dir():
            return _check_layout(candidate, splits, classes)
    if not download:
        raise DataNotFoundError(
            f"{config.data.dataset} not found in {[str(p) for p in dataset_candidates(config, locations)]}; "
            "pass --data-dir or set COURSE_DATA_DIR"
        )
    import keras  # noqa: PLC0415  (slow import, only when a download is needed)

    extracted = Path(
        keras.utils.get_file(
            f"{config.data.dataset}.zip", origin=config.data.download_url, extract=True
        )
    )
    root = extracted / config.data.dataset if (extracted / config.data.dataset).is_dir() else extracted
    return _check_layout(root, splits, classes)


def locate_hidden_test(config: CourseConfig, locations: Locations) -> Path:
    """Return the hidden test folder (`{cats,dogs}/*.jpg`). It is never downloaded.

    Raises:
        DataNotFoundError: no data folder is configured or it lacks the hidden split.
    """
    _require_data(config)
    if config.data.hidden_test is None:
        raise DataNotFoundError(
            "This course file names no hidden test split (data.hidden_test is null, as in a student kit): "
            "only the grader's course.yaml can grade on it."
        )
    env = os.environ.get("COURSE_HIDDEN_DIR")
    if env:
        root = Path(env).expanduser()
    elif locations.data_dir is not None:
        root = locations.data_dir / config.data.hidden_test
    else:
        raise DataNotFoundError(
            "The hidden test split is only read from a configured folder. Expected --data-dir, "
            f"COURSE_DATA_DIR or COURSE_HIDDEN_DIR holding {config.data.hidden_test}/. Received: none"
        )
    return _check_layout(root, ("",), config.data.classes)
