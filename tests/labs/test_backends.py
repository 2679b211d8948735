"""The same verdicts on JAX and PyTorch as on TensorFlow: the digits lab's reference, stubs and
mistake catalogue graded by `course grade` under `KERAS_BACKEND=jax` and `=torch` (issue #13's CPU
check).

The backend is chosen when Keras is imported, so each grading runs in a child process; the
TensorFlow side is this session's (`digits_reference`, `digits_stubs`, and the catalogue's
verdicts in test_digits.py). PyTorch trains the `ci` convnet to other accuracies than TensorFlow
(its own initialisation and kernels), so it grades against its own calibration, `ci.torch.json`
(thresholds are per backend where they differ). The transfer-learning lab's tf.data check is run
on JAX too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_PROFILE
from tests.labs.test_digits import MUTANTS

pytestmark = [pytest.mark.slow, pytest.mark.heavy(seconds=270)]

ACCURACY = "hidden-test accuracy"
BACKENDS = ("jax", "torch")


def require_backend(backend: str) -> None:
    """JAX comes with the dev extra; `.ci/run` installs PyTorch's CPU build. Where CI requires a
    backend (COURSE_REQUIRE_BACKENDS), its absence fails instead of skipping."""
    if importlib.util.find_spec(backend) is None:
        required = os.environ.get("COURSE_REQUIRE_BACKENDS", "").split(",")
        if backend in required:
            pytest.fail(f"{backend} is not installed but COURSE_REQUIRE_BACKENDS names it")
        pytest.skip(f"{backend} is not installed")


@pytest.fixture(scope="module", params=BACKENDS)
def graded_on(request, digits, tmp_path_factory) -> tuple[str, Path]:
    backend = request.param
    require_backend(backend)
    root = tmp_path_factory.mktemp(backend)
    batch = root / "batch"
    modules = [spec.module for spec in digits.config.parts.values()]
    for name, source in (("reference", digits.solutions_dir), ("stubs", digits.release_dir)):
        (batch / name).mkdir(parents=True)
        for module in modules:
            shutil.copy(source / module, batch / name / module)
    for mutant in MUTANTS:
        mutant.apply(batch / "reference", batch / mutant.name)
    loc = digits.locations
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", str(batch), "--lab", digits.lab, "--profile", TEST_PROFILE,
         "--config", str(digits.config_path), "--out", str(root / "graded"), "--data-dir", str(loc.data_dir),
         "--cache-dir", str(root / "cache")],
        capture_output=True, text=True, timeout=1500, check=False,
        env={**os.environ, "KERAS_BACKEND": backend, "COLUMNS": "200", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return backend, root / "graded"


def checks_of(graded_on: tuple[str, Path], name: str) -> dict[str, tuple[float, float]]:
    """Check name -> (score, max score) of one submission graded on that backend."""
    backend, graded = graded_on
    result = json.loads((graded / ".staff" / name / "grading.json").read_text())["result"]
    assert result["backend"] == backend  # it ran there
    # and, where the calibration is another backend's, says so (PyTorch has its own for `ci`)
    calibrated_elsewhere = any(f"graded on {backend}" in note for note in result["notes"])
    assert calibrated_elsewhere == (backend == "jax"), result["notes"]
    return {c["name"]: (c["score"], c["max_score"]) for part in result["parts"] for c in part["checks"]}


def test_reference_and_stubs_score_as_on_tensorflow(graded_on, digits_reference, digits_stubs):
    for name, on_tensorflow in (("reference", digits_reference), ("stubs", digits_stubs)):
        here = checks_of(graded_on, name)
        expected = {c.name: c.score for c in on_tensorflow.checks()}
        assert here.keys() == expected.keys()
        for check, score in expected.items():
            assert here[check][0] == pytest.approx(score, abs=1e-6), f"{name}: {check} on {graded_on[0]} {here[check]}, on TensorFlow {score}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutant_loses_the_same_checks_as_on_tensorflow(graded_on, mutant):
    """test_digits.py's verdicts on TensorFlow: every intended check lost, nothing else but collateral accuracy."""
    lost = {name for name, (score, top) in checks_of(graded_on, mutant.name).items() if score < top - 1e-9}
    assert {i for i in mutant.intended if any(name.startswith(i) for name in lost)} == set(mutant.intended), sorted(lost)
    assert {name for name in lost if not name.startswith(mutant.intended + mutant.collateral)} == set(), sorted(lost)


def test_the_tf_data_check_passes_on_jax_for_the_reference_and_fails_for_a_block_that_does_nothing(ctx):
    require_backend("jax")
    script = f"""
import numpy as np, keras, sys
sys.path.insert(0, {str(ctx.solutions_dir)!r})
import augmentation
from autograder.checks.augmentation import check_in_tf_data
images = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
labels = np.arange(8) % 2
good = check_in_tf_data(augmentation.build_augmentation(32, 32, seed=1), images, labels)
empty = check_in_tf_data(keras.Sequential([keras.layers.Rescaling(1.0)]), images, labels)  # runs, changes nothing
print(keras.backend.backend(), good.ok, empty.ok)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False,
                         env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-3:] == ["jax", "True", "False"]


def test_without_tensorflow_the_tf_data_check_says_it_was_not_run(ctx):
    """A GPU node set up with JAX alone has no tf.data: the row says so instead of failing the student."""
    require_backend("jax")
    script = f"""
import sys
sys.modules["tensorflow"] = None  # as on a machine without it: `import tensorflow` raises ImportError
import numpy as np, keras
sys.path.insert(0, {str(ctx.solutions_dir)!r})
import augmentation
from autograder.checks.augmentation import check_in_tf_data
images = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
result = check_in_tf_data(augmentation.build_augmentation(32, 32, seed=1), images, np.arange(8) % 2)
print(keras.backend.backend(), result.ok, "|", result.message)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False,
                         env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert run.returncode == 0, run.stderr[-2000:]
    backend, ok, message = run.stdout.strip().splitlines()[-1].split(" ", 2)
    assert (backend, ok) == ("jax", "True")
    assert "not checked on this machine: TensorFlow (tf.data) is not installed" in message


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_student_checks_and_an_instructor_verifies_the_release_on_each_backend(backend, digits, tmp_path):
    """`course check` (the public checks, sandboxed) and `course release --check` under that backend."""
    require_backend(backend)
    from autograder.grading.lab_checks import collect_checks

    work = tmp_path / "release"
    shutil.copytree(digits.release_dir, work)
    for spec in digits.config.parts.values():  # a student who got everything right
        shutil.copy(digits.solutions_dir / spec.module, work / spec.module)
    env = {**os.environ, "KERAS_BACKEND": backend, "COLUMNS": "200", "TF_CPP_MIN_LOG_LEVEL": "3"}
    common = ["--config", str(digits.config_path), "--lab", digits.lab]
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "check", str(work), "--json", "--profile", TEST_PROFILE, *common,
         "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout)
    public = sum(c.course_points for c in collect_checks(work / "checks", digits.config, complete=False))
    assert report["score"] == pytest.approx(public) and public > 0, report

    run = subprocess.run([sys.executable, "-m", "autograder.cli", "release", "--check", *common],
                         capture_output=True, text=True, timeout=600, check=False, env=env)
    assert run.returncode == 0 and "up to date" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
