"""Loading the real cats-vs-dogs images: layout, subsets, corrupt files and the on-disk cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from autograder.config import load_config, resolve_locations
from autograder.data import (
    CorruptImageWarning,
    DataNotFoundError,
    balanced_subset,
    images as images_module,
    list_labelled_files,
    load_images,
    load_split,
    locate_dataset,
    locate_hidden_test,
)

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("cats", "dogs")


@pytest.fixture()
def small_folder(tmp_path, data_dir) -> Path:
    """Three real cats and three real dogs, plus a corrupt JPEG and a text file named .jpg."""
    source = data_dir / "cats_and_dogs_filtered" / "train"
    for cls in CLASSES:
        (tmp_path / cls).mkdir()
        for path in sorted((source / cls).glob("*.jpg"))[:3]:
            shutil.copy(path, tmp_path / cls / path.name)
    real = (tmp_path / "dogs" / "dog.0.jpg").read_bytes()
    (tmp_path / "dogs" / "dog.truncated.jpg").write_bytes(real[:200])
    (tmp_path / "cats" / "cat.notes.jpg").write_text("not an image")
    return tmp_path


def test_real_splits_have_the_documented_sizes(ctx):
    root = locate_dataset(ctx.config, ctx.locations, download=False)
    train = list_labelled_files(root / "train", CLASSES)
    validation = list_labelled_files(root / "validation", CLASSES)
    hidden = list_labelled_files(locate_hidden_test(ctx.config, ctx.locations), CLASSES)
    assert (len(train), len(validation), len(hidden)) == (2000, 1000, 1999)
    assert {label for _, label in train} == {0, 1}
    assert all(path.parent.name == "dogs" for path, label in train if label == 1)


def test_load_split_gives_balanced_uint8_images_of_the_requested_size(ctx):
    profile = ctx.profile("smoke")
    test = load_split(ctx.config, ctx.locations, profile, "test", 64, download=False)
    assert test.images.shape == (profile.test_images, 64, 64, 3)
    assert test.images.dtype == np.uint8
    assert np.bincount(test.labels).tolist() == [profile.test_images // 2] * 2
    assert 40 < test.images.mean() < 200  # real photos, not blank arrays


def test_held_out_rows_are_in_a_seeded_random_order_not_by_label(ctx):
    """A row's position must say nothing about its class (a row-order oracle scored 0.979)."""
    profile = ctx.profile("ci")
    for split in ("validation", "test"):
        first = load_split(ctx.config, ctx.locations, profile, split, 32, download=False)
        again = load_split(ctx.config, ctx.locations, profile, split, 48, download=False)
        assert first.files == again.files and (first.labels == again.labels).all()  # same order at every size
        half = len(first.labels) // 2
        # Sorted by label, the first half would be all cats: here it is near half dogs.
        assert 0.3 < first.labels[:half].mean() < 0.7, (split, first.labels[:20])


def test_corrupt_and_non_image_files_are_skipped_with_a_warning_naming_them(small_folder, tmp_path_factory):
    files = list_labelled_files(small_folder, CLASSES)
    with pytest.warns(CorruptImageWarning) as caught:
        loaded = load_images(files, 32, cache_dir=tmp_path_factory.mktemp("cache"))
    messages = " ".join(str(w.message) for w in caught)
    assert "dog.truncated.jpg" in messages and "cat.notes.jpg" in messages
    assert len(loaded) == 6
    assert not any("truncated" in f or "notes" in f for f in loaded.files)


def test_second_load_comes_from_the_cache_without_decoding(small_folder, tmp_path, monkeypatch):
    files = [f for f in list_labelled_files(small_folder, CLASSES) if "truncated" not in f[0].name and "notes" not in f[0].name]
    cache = tmp_path / "cache"
    first = load_images(files, 48, cache_dir=cache)
    assert list((cache / "images").glob("*.npz"))

    def refuse(*_args, **_kwargs):
        raise AssertionError("decoded a JPEG although the cache holds it")

    monkeypatch.setattr(images_module, "decode_image", refuse)
    second = load_images(files, 48, cache_dir=cache)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    # A changed file invalidates the cache entry: it is decoded again.
    changed = files[0][0]
    changed.write_bytes(changed.read_bytes() + b"\0")
    with pytest.raises(AssertionError, match="decoded a JPEG"):
        load_images(files, 48, cache_dir=cache)


def test_balanced_subset_is_seeded_and_even():
    files = [(Path(f"c{i}.jpg"), 0) for i in range(50)] + [(Path(f"d{i}.jpg"), 1) for i in range(70)]
    first = balanced_subset(files, 21, seed=3)
    assert first == balanced_subset(files, 21, seed=3)
    assert first != balanced_subset(files, 21, seed=4)
    assert sorted(np.bincount([label for _, label in first]).tolist()) == [10, 11]
    assert balanced_subset(files, None, seed=0) == files


def test_wrong_data_dir_is_an_error_naming_the_missing_folders(tmp_path):
    config = load_config(REPO / "course.yaml")
    (tmp_path / "cats_and_dogs_filtered" / "train" / "cats").mkdir(parents=True)
    locations = resolve_locations(REPO / "course.yaml", config, data_dir=tmp_path, cache_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="Missing folders:.*train/dogs"):
        locate_dataset(config, locations, download=False)


def test_hidden_split_is_never_guessed(tmp_path, monkeypatch):
    config = load_config(REPO / "course.yaml")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_HIDDEN_DIR", raising=False)
    locations = resolve_locations(REPO / "course.yaml", config, cache_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="hidden test split is only read from a configured folder"):
        locate_hidden_test(config, locations)


def test_keras_cache_is_searched_before_downloading(tmp_path, monkeypatch, data_dir):
    config = load_config(REPO / "course.yaml")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    extracted = tmp_path / "keras" / "datasets" / "cats_and_dogs_filtered_extracted"
    extracted.mkdir(parents=True)
    (extracted / "cats_and_dogs_filtered").symlink_to(data_dir / "cats_and_dogs_filtered")
    locations = resolve_locations(REPO / "course.yaml", config, cache_dir=tmp_path)
    assert locate_dataset(config, locations, download=False) == extracted / "cats_and_dogs_filtered"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError, match="pass --data-dir"):
        locate_dataset(config, locations, download=False)
