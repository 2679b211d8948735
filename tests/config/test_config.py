"""course.yaml is parsed into frozen models; bad input is reported with file, key path and value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from autograder.config import ConfigError, load_config, resolve_locations

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, mutate) -> Path:
    """A copy of the repository's course.yaml, edited by `mutate`, whose labs' folders stay the repository's."""
    raw = yaml.safe_load((REPO / "course.yaml").read_text())
    for folder in ("solutions", "release"):
        raw["paths"][folder] = str(REPO / raw["paths"][folder])
    mutate(raw)
    path = tmp_path / "course.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_repository_config_loads_with_its_profiles():
    config = load_config(REPO / "course.yaml")
    assert {"ci", "smoke", "cpu", "gpu"} <= set(config.profiles)
    assert config.total_points == 100
    assert config.profile("cpu").base.alpha == 0.5
    assert config.parts["scratch"].module == "scratch.py"


def test_config_is_immutable():
    config = load_config(REPO / "course.yaml")
    with pytest.raises(ValidationError):
        config.profiles["smoke"].batch_size = 1


def test_unknown_key_names_the_key_path_and_value(tmp_path):
    path = write_config(tmp_path, lambda raw: raw["profiles"]["smoke"].update(epoch=3))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "profiles.smoke.epoch: unknown key" in message
    assert "epoch=3" in message


def test_bad_value_names_the_key_path_and_received_value(tmp_path):
    path = write_config(tmp_path, lambda raw: raw["labs"]["transfer_learning"]["parts"]["scratch"].update(points=-5))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "labs.transfer_learning.parts.scratch.points" in str(info.value)
    assert "points=-5" in str(info.value)


def test_nested_budget_value_is_reported(tmp_path):
    path = write_config(tmp_path, lambda raw: raw["labs"]["transfer_learning"]["profiles"]["cpu"]["base"].update(architecture="VGG16"))
    with pytest.raises(ConfigError, match=r"labs\.transfer_learning\.profiles\.cpu\.base\.architecture.*'VGG16'"):
        load_config(path)


def test_missing_part_is_reported(tmp_path):
    from autograder.context import CourseContext

    def drop_part(raw):
        raw["labs"]["transfer_learning"]["parts"].pop("fine_tuning")

    ctx = CourseContext.create(write_config(tmp_path, drop_part), download=False)
    with pytest.raises(ConfigError, match="parts.*Missing: \\['fine_tuning'\\]"):
        ctx.definition()


def test_tta_size_smaller_than_crop_is_rejected(tmp_path):
    path = write_config(tmp_path, lambda raw: raw["labs"]["transfer_learning"]["profiles"]["smoke"]["tta"].update(resize_to=64))
    with pytest.raises(ConfigError, match="tta.resize_to >= base.image_size"):
        load_config(path)


def test_unknown_profile_lists_the_known_ones():
    config = load_config(REPO / "course.yaml")
    with pytest.raises(KeyError, match="Expected one of \\['ci', 'cpu', 'gpu', 'smoke'\\]. Received: profile='fast'"):
        config.profile("fast")


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "course.yaml"
    bad.write_text("course: [unclosed\n")
    with pytest.raises(ConfigError, match="Invalid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not a file"):
        load_config(tmp_path / "nope.yaml")
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="Expected a mapping.*Received: list"):
        load_config(bad)


def test_locations_flag_beats_env_beats_file(tmp_path, monkeypatch):
    config = load_config(REPO / "course.yaml")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_WEIGHTS_DIR", raising=False)
    from_env = resolve_locations(REPO / "course.yaml", config)
    assert from_env.data_dir == tmp_path / "from-env"
    from_flag = resolve_locations(REPO / "course.yaml", config, data_dir=tmp_path / "flag")
    assert from_flag.data_dir == tmp_path / "flag"
    assert from_flag.cache_dir == tmp_path / "cache"
    assert from_flag.weights_dir is None


def test_cli_reports_a_bad_config_in_one_line(tmp_path):
    import subprocess
    import sys

    path = write_config(tmp_path, lambda raw: raw["course"].update(default_lab="Transfer Learning"))
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "config", "--config", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 2
    assert "course.default_lab" in run.stderr and "'Transfer Learning'" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_lab_budget_for_a_profile_the_course_does_not_declare_is_refused(tmp_path):
    path = write_config(tmp_path, lambda raw: raw["labs"]["digits"]["profiles"].update(tiny=raw["labs"]["digits"]["profiles"]["ci"]))
    with pytest.raises(ConfigError, match=r"labs.digits.profiles to name profiles of the course.*Received: \['tiny'\]"):
        load_config(path, "digits")


def test_paths_are_templated_per_lab():
    assert load_config(REPO / "course.yaml", "digits").paths.solutions == "solutions/digits"
    assert load_config(REPO / "course.yaml", "transfer_learning").paths.release == "assignments/transfer_learning"
