"""A profile whose pretrained weights are not on the machine runs on its `offline_fallback` (issue #13).

The `gpu` profile asks for MobileNetV2 alpha 1.0, whose file an offline course does not have; its
fallback (alpha 0.5 at 224 px) ships with the course's weights. The fallback is a profile of its own:
its own settings digest, its own calibration file, and it is said on stderr when it is used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autograder.bases import weight_filename
from autograder.calibration import calibration_path, profile_digest
from autograder.config import ConfigError, load_config
from autograder.context import CourseContext
from tests.config.test_config import REPO, write_config

SHARED_WEIGHTS = Path(os.environ.get("COURSE_WEIGHTS_DIR", REPO.parent / "shared" / "weights" / "keras"))


def context(weights_dir: Path, tmp_path: Path, config: Path = REPO / "course.yaml") -> CourseContext:
    return CourseContext.create(
        config, weights_dir=weights_dir, cache_dir=tmp_path / "cache", download=False, lab="transfer_learning"
    )


@pytest.fixture
def offline_weights(tmp_path, monkeypatch) -> Path:
    """A weights folder with what an offline course has (alpha 0.35 and 0.5) and an empty Keras home."""
    if not any(SHARED_WEIGHTS.glob("mobilenet_v2_*_0.5_224_no_top.h5")):
        pytest.skip(f"no MobileNetV2 alpha 0.5 weights in {SHARED_WEIGHTS}")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    folder = tmp_path / "weights"
    folder.mkdir()
    for file in SHARED_WEIGHTS.glob("mobilenet_v2_*.h5"):
        (folder / file.name).symlink_to(file)
    return folder


def test_gpu_profile_falls_back_to_weights_this_machine_has(offline_weights, tmp_path, capsys):
    ctx = context(offline_weights, tmp_path)
    declared = ctx.config.profile("gpu")
    assert (declared.base.alpha, declared.base.image_size) == (1.0, 160)

    used = ctx.profile("gpu")
    assert (used.base.alpha, used.base.image_size, used.tta.resize_to) == (0.5, 224, 256)
    assert used.fallback_for == "gpu"
    # everything else is the gpu profile's own budget
    assert used.scratch == declared.scratch and used.fine_tuning == declared.fine_tuning and used.gpus == 1
    assert ctx.weights_file(used).name == weight_filename("MobileNetV2", 0.5, 224)
    # its own settings, its own calibration
    assert profile_digest(used) != profile_digest(declared)
    assert calibration_path(ctx, "gpu", used).name == "gpu-offline.json"
    assert calibration_path(ctx, "gpu", declared).name == "gpu.json"
    said = capsys.readouterr().err
    assert "MobileNetV2 alpha 1.0 at 160 px" in said and "offline fallback (MobileNetV2 alpha 0.5 at 224 px" in said
    ctx.profile("gpu")
    assert capsys.readouterr().err == "", "the fallback is said once per command"
    # a profile without a fallback, or whose weights are here, is itself
    assert ctx.profile("cpu") == ctx.config.profile("cpu")


def test_the_declared_weights_win_where_they_are_here(offline_weights, tmp_path, capsys):
    # alpha 1.0's file, under its Keras name (content does not matter to the choice)
    shutil.copyfile(
        next(offline_weights.glob("*_0.5_224_no_top.h5")), offline_weights / weight_filename("MobileNetV2", 1.0, 224)
    )
    used = context(offline_weights, tmp_path).profile("gpu")
    assert (used.base.alpha, used.base.image_size, used.fallback_for) == (1.0, 160, None)
    assert capsys.readouterr().err == ""


def test_without_either_file_the_declared_profile_stays(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    (tmp_path / "none").mkdir()
    used = context(tmp_path / "none", tmp_path).profile("gpu")
    assert used.base.alpha == 1.0 and used.fallback_for is None  # a download (or a clear error) follows


def test_the_fallback_keeps_calibrated_digests_of_other_profiles():
    # `fallback_for` is not budget: the smoke, ci and cpu calibrations stay valid
    from autograder.calibration import Calibration

    config = load_config(REPO / "course.yaml", "transfer_learning")
    for name in ("ci", "smoke", "cpu"):
        calibration = Calibration.read(REPO / "solutions" / "transfer_learning" / "calibration" / f"{name}.json")
        assert calibration.profile_digest == profile_digest(config.profile(name)), name


def test_a_bad_fallback_names_its_key_path(tmp_path):
    def bad(raw):
        raw["labs"]["transfer_learning"]["profiles"]["gpu"]["offline_fallback"] = {"base": {"alpha": 7}}

    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, bad), "transfer_learning")
    assert "labs.transfer_learning.profiles.gpu.offline_fallback.base.alpha" in str(info.value)
    assert "alpha=7" in str(info.value)

    def empty(raw):
        raw["labs"]["transfer_learning"]["profiles"]["gpu"]["offline_fallback"] = []

    with pytest.raises(ConfigError, match=r"offline_fallback to be a mapping"):
        load_config(write_config(tmp_path, empty), "transfer_learning")


def test_the_class_report_shows_the_calibration_each_profile_graded_against(tmp_path, capsys):
    """`course report` on any machine: the declared profile's calibration on this backend, else its
    offline fallback's, else the missing file's name; nothing said on stderr."""
    from autograder.calibration import report_calibrations

    solutions = tmp_path / "solutions"
    shutil.copytree(REPO / "solutions" / "transfer_learning" / "calibration", solutions / "calibration")

    def here(raw):
        raw["paths"]["solutions"] = str(solutions)

    (tmp_path / "none").mkdir()
    ctx = context(tmp_path / "none", tmp_path, write_config(tmp_path, here))
    folder = solutions / "calibration"
    tf, jax, torch = (report_calibrations(ctx, backend) for backend in ("tensorflow", "jax", "torch"))
    assert tf["ci"] == folder / "ci.json" and jax["ci"] == folder / "ci.jax.json"
    assert torch["ci"] == folder / "ci.json"  # no PyTorch file: TensorFlow's
    assert tf["gpu"] == folder / "gpu.json" and not tf["gpu"].exists()  # none: named as missing
    (folder / "gpu-offline.json").write_text("{}")
    assert report_calibrations(ctx, "tensorflow")["gpu"] == folder / "gpu-offline.json"
    (folder / "gpu.json").write_text("{}")
    assert report_calibrations(ctx, "jax")["gpu"] == folder / "gpu.json"  # the declared profile's wins
    assert capsys.readouterr().err == ""
