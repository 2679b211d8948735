"""`course export gradescope`: the zip is the source's, and its real `run_autograder` grades like `course grade`.

The slow tests lay out a temporary folder like Gradescope's `/autograder` (source/, submission/,
results/), unpack the zip into source/, and run the real `run_autograder` with `GRADESCOPE_ROOT`
pointing there (and this interpreter as `COURSE_PYTHON`, standing in for the image's venv).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from autograder import export
from autograder.context import CourseContext
from autograder.export.bundle import source_files
from autograder.export.gradescope import pinned_requirements
from autograder.reports.gradescope import validate_results_json
from tests.export.conftest import part_scores, same_scores
from tests.conftest import TEST_PROFILE

pytestmark = pytest.mark.heavy(seconds=120)


@pytest.fixture(scope="module")
def exported(ctx, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gradescope")
    export.main(ctx, "gradescope", out, TEST_PROFILE, with_data=False)
    return out


def run_autograder(exported: Path, submission: Path, root: Path, env: dict) -> dict:
    """Unpack the zip like Gradescope, copy the submission in, run the real script, read results.json."""
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True)
    with zipfile.ZipFile(exported / "autograder.zip") as zf:
        zf.extractall(root / "source")
    script = root / "run_autograder"
    shutil.copy(root / "source" / "run_autograder", script)
    script.chmod(0o755)
    for path in submission.iterdir():
        shutil.copy(path, root / "submission")
    env = {**env, "GRADESCOPE_ROOT": str(root), "COURSE_PYTHON": os.environ.get("COURSE_PYTHON", __import__("sys").executable)}
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def gradescope_part_scores(results: dict) -> dict[str, float]:
    scores: dict[str, float] = {}
    for test in results["tests"]:
        (part,) = test["tags"]
        scores[part] = round(scores.get(part, 0.0) + test["score"], 3)
    return scores


def test_zip_holds_the_scripts_requirements_and_bundle(exported):
    with zipfile.ZipFile(exported / "autograder.zip") as zf:
        names = set(zf.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in zf.infolist()}
        assert zf.read("requirements.txt").decode() == pinned_requirements(Path("pyproject.toml").resolve())
    assert {"setup.sh", "run_autograder", "requirements.txt", "course/course.yaml", "course/BUNDLE.json"} <= names
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, script
    tree = {p.relative_to(exported / "autograder").as_posix() for p in (exported / "autograder").rglob("*") if p.is_file()}
    assert names == tree


def test_bundle_is_a_byte_copy_of_the_source(exported, ctx):
    bundle = exported / "autograder" / "course"
    files = source_files(ctx)
    assert any(name.startswith("solutions/") and "/checks/" in name for name in files)
    assert any(name.startswith("autograder/export/") for name in files)
    for name, path in files.items():
        assert (bundle / name).read_bytes() == path.read_bytes(), name
    calibrations = list((ctx.solutions_dir / "calibration").glob("*.json"))
    for path in calibrations:
        assert (bundle / path.relative_to(ctx.locations.root)).is_file()


def test_check_reports_no_drift_then_a_changed_check(ctx, tmp_path, data_dir, weights_dir, cache_dir):
    root = tmp_path / "course"
    shutil.copytree(ctx.locations.root / ctx.config.paths.solutions, root / ctx.config.paths.solutions)
    for name in ("course.yaml", "pyproject.toml", "README.md"):
        shutil.copy(ctx.locations.root / name, root / name)
    copy = CourseContext.create(root / "course.yaml", data_dir, weights_dir, cache_dir, download=False)
    out = tmp_path / "export"
    export.main(copy, "gradescope", out, TEST_PROFILE, with_data=False)
    assert export.main(copy, "gradescope", out, TEST_PROFILE, with_data=False, check=True) == []
    check = root / ctx.config.paths.solutions / "checks" / "scratch_checks.py"
    check.write_text(check.read_text() + "\n# a changed check\n")
    drift = export.main(copy, "gradescope", out, TEST_PROFILE, with_data=False, check=True)
    assert any("checks/scratch_checks.py" in line and "differs" in line for line in drift), drift


def test_with_data_bundles_the_data_and_points_course_yaml_at_it(ctx, tmp_path, weights_dir, cache_dir, monkeypatch):
    data = tmp_path / "data"
    for split in ("cats_and_dogs_filtered/train/cats", "cats_and_dogs_filtered/validation/dogs", "cats_and_dogs_extra/cats"):
        (data / split).mkdir(parents=True)
        (data / split / "1.jpg").write_bytes(b"jpeg")
    (data / "cats_and_dogs_extra" / "dogs").mkdir()
    small = CourseContext.create(ctx.config_path, data, weights_dir, cache_dir, download=False)
    out = tmp_path / "export"
    export.main(small, "gradescope", out, TEST_PROFILE, with_data=True)
    bundle = out / "autograder" / "course"
    assert (bundle / "data/cats_and_dogs_filtered/train/cats/1.jpg").is_file()
    assert (bundle / "data/cats_and_dogs_extra/cats/1.jpg").is_file()
    assert [p.name for p in (bundle / "weights").iterdir()] == [small.weights_file(small.profile(TEST_PROFILE)).name]
    for name in ("COURSE_DATA_DIR", "COURSE_WEIGHTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    bundled = CourseContext.create(bundle / "course.yaml")
    assert bundled.locations.data_dir == bundle / "data"
    assert bundled.locations.weights_dir == bundle / "weights"


def test_nothing_to_grade_scores_zero_with_a_message(exported, tmp_path, grading_env):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("I forgot my code")
    results = run_autograder(exported, empty, tmp_path / "autograder", grading_env)
    assert results["score"] == 0 and "Nothing to grade" in results["output"]
    assert validate_results_json(results) == []


@pytest.mark.slow
def test_stubs_score_zero_like_course_grade(exported, stub_submission, stub_result, tmp_path, grading_env):
    results = run_autograder(exported, stub_submission, tmp_path / "autograder", grading_env)
    assert validate_results_json(results) == []
    assert results["score"] == 0
    assert gradescope_part_scores(results) == part_scores(stub_result) == {p: 0.0 for p in part_scores(stub_result)}


@pytest.fixture(scope="module")
def gradescope_reference(exported, reference_submission, tmp_path_factory, grading_env) -> dict:
    return run_autograder(exported, reference_submission, tmp_path_factory.mktemp("gs-root"), grading_env)


@pytest.mark.slow
def test_reference_scores_like_course_grade(gradescope_reference, reference_result):
    assert validate_results_json(gradescope_reference) == []
    assert same_scores(gradescope_part_scores(gradescope_reference), reference_result)
    assert gradescope_reference["score"] == pytest.approx(reference_result.score, abs=1e-3)


@pytest.mark.slow
def test_reference_gets_full_marks(gradescope_reference, ctx):
    failing = [f"{t['name']}: {t['output']}" for t in gradescope_reference["tests"] if t["score"] < t["max_score"]]
    assert failing == []
    assert gradescope_reference["score"] == pytest.approx(ctx.config.total_points, abs=0.01)


def test_the_export_says_what_machine_grading_needs(ctx, tmp_path):
    from autograder.export.gradescope import export as gradescope_export
    from autograder.export.resources import RESOURCES, Resources, read_resources, resources_line

    measured = read_resources(ctx.solutions_dir, "smoke")  # measured by benchmarks/grading_resources.py, committed
    assert measured is not None and measured.seconds > 0 and measured.peak_gib > 0
    assert resources_line(ctx.solutions_dir, "smoke") == measured.advice()
    sized = Resources("smoke", seconds=150.0, peak_gib=3.1, machine="x86_64, 2 cores", date="2026-11-30")
    assert sized.memory_gib == 4.0 and sized.timeout_minutes == 5  # a quarter of headroom; twice the time
    assert "at least 4 GiB of memory" in sized.advice() and "at least 5 minutes" in sized.advice()
    solutions = tmp_path / "solutions"
    (solutions / RESOURCES).mkdir(parents=True)
    assert "never measured" in resources_line(solutions, "smoke")
    (solutions / RESOURCES / "smoke.json").write_text('{"profile": "smoke"}')
    with pytest.raises(ValueError, match="smoke.json: expected the fields"):
        read_resources(solutions, "smoke")
    lines = gradescope_export(ctx, tmp_path / "out", "smoke", with_data=False)
    assert measured.advice() in lines
