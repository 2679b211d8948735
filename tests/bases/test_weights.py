"""ImageNet weights resolve offline first, and one 224 px file serves every input size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.bases import WeightsNotFoundError, populate_keras_home, resolve_weights, weight_filename


def test_file_names_match_keras_applications():
    assert weight_filename("MobileNetV2", 0.5, 224) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
    assert weight_filename("MobileNetV2", 1, 160) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
    assert weight_filename("MobileNet", 0.25, 224) == "mobilenet_2_5_224_tf_no_top.h5"
    with pytest.raises(ValueError, match="Received: alpha=0.6"):
        weight_filename("MobileNetV2", 0.6, 224)
    with pytest.raises(ValueError, match="Received: architecture='VGG16'"):
        weight_filename("VGG16", 1.0, 224)


@pytest.mark.parametrize("size", [96, 160])
def test_weights_dir_serves_other_input_sizes(weights_dir, size, monkeypatch, tmp_path):
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    path = resolve_weights("MobileNetV2", 0.35, size, weights_dir, download=False)
    assert path.parent == weights_dir and path.name.endswith("_0.35_224_no_top.h5")
    base = keras.applications.MobileNetV2(
        input_shape=(size, size, 3), alpha=0.35, include_top=False, weights=str(path)
    )
    assert base.count_params() == 410_208
    assert base.output_shape == (None, size // 32, size // 32, 1280)
    random_base = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=0.35, include_top=False, weights=None)
    first_kernel = base.get_layer("Conv1").get_weights()[0]
    assert not np.allclose(first_kernel, random_base.get_layer("Conv1").get_weights()[0])


def test_keras_home_is_searched_after_the_weights_dir(weights_dir, tmp_path, monkeypatch):
    home = tmp_path / "keras"
    populate_keras_home(home, "MobileNetV2", 0.5, weights_dir / weight_filename("MobileNetV2", 0.5, 224))
    monkeypatch.setenv("KERAS_HOME", str(home))
    found = resolve_weights("MobileNetV2", 0.5, 128, weights_dir=None, download=False)
    assert found == home / "models" / weight_filename("MobileNetV2", 0.5, 128)


def test_missing_weights_say_where_they_were_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(WeightsNotFoundError) as info:
        resolve_weights("MobileNetV2", 1.0, 160, tmp_path, download=False)
    assert str(tmp_path) in str(info.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5" in str(info.value)
    assert "COURSE_WEIGHTS_DIR" in str(info.value)


def test_imagenet_by_name_works_offline_at_any_size_after_populating(weights_dir, tmp_path):
    """Student code asks for weights="imagenet"; a populated KERAS_HOME answers without a network."""
    home = tmp_path / "keras"
    populate_keras_home(home, "MobileNet", 0.25, weights_dir / "mobilenet_2_5_224_tf_no_top.h5")
    script = (
        "import keras, numpy as np\n"
        "b = keras.applications.MobileNet(input_shape=(128, 128, 3), alpha=0.25, include_top=False, weights='imagenet')\n"
        "print(b.count_params(), float(np.abs(b.get_layer('conv1').get_weights()[0]).sum()))\n"
    )
    env = {**os.environ, "KERAS_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3",
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    count, kernel_sum = run.stdout.split()
    assert int(count) == 218_544
    assert float(kernel_sum) > 1.0
    assert not (home / "models").joinpath("mobilenet_2_5_128_tf_no_top.h5").resolve().is_relative_to(home)


def test_populating_while_another_process_links_the_same_names(weights_dir, tmp_path, monkeypatch):
    """Two graders populating one Keras home: a link that appears meanwhile is kept, never copied over."""
    source = weights_dir / weight_filename("MobileNetV2", 0.5, 224)
    real_symlink = os.symlink

    def linked_by_someone_else(src, dst, *args, **kwargs):
        real_symlink(src, dst, *args, **kwargs)  # the other process wins the race
        raise FileExistsError(17, "File exists", str(dst))

    monkeypatch.setattr(os, "symlink", linked_by_someone_else)
    models = populate_keras_home(tmp_path / "home", "MobileNetV2", 0.5, source)
    links = sorted(models.iterdir())
    assert links and all(p.is_symlink() and p.resolve() == source.resolve() for p in links)
