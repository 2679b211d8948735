"""The same verdicts on JAX as on TensorFlow: the digits lab's reference, stubs and mistake
catalogue graded by `course grade` under `KERAS_BACKEND=jax` (issue #13's CPU check).

The backend is chosen when Keras is imported, so the JAX grading runs in a child process; the
TensorFlow side is this session's (`digits_reference`, `digits_stubs`, and the catalogue's
verdicts in test_digits.py). The transfer-learning lab's tf.data check is run on JAX too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_PROFILE
from tests.labs.test_digits import MUTANTS

pytest.importorskip("jax", reason="JAX is not installed (`pip install -e '.[dev]'` installs it)")
pytestmark = pytest.mark.slow

ACCURACY = "hidden-test accuracy"


@pytest.fixture(scope="module")
def jax_graded(digits, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("jax")
    batch = root / "batch"
    modules = [spec.module for spec in digits.config.parts.values()]
    for name, source in (("reference", digits.solutions_dir), ("stubs", digits.release_dir)):
        (batch / name).mkdir(parents=True)
        for module in modules:
            shutil.copy(source / module, batch / name / module)
    for mutant in MUTANTS:
        shutil.copytree(batch / "reference", batch / mutant.name)
        path = batch / mutant.name / mutant.module
        path.write_text(path.read_text().replace(mutant.old, mutant.new))
    loc = digits.locations
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", str(batch), "--lab", digits.lab, "--profile", TEST_PROFILE,
         "--config", str(digits.config_path), "--out", str(root / "graded"), "--data-dir", str(loc.data_dir),
         "--cache-dir", str(root / "cache")],
        capture_output=True, text=True, timeout=1500, check=False,
        env={**os.environ, "KERAS_BACKEND": "jax", "COLUMNS": "200", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root / "graded"


def checks_of(graded: Path, name: str) -> dict[str, tuple[float, float]]:
    """Check name -> (score, max score) of one submission graded on JAX."""
    result = json.loads((graded / ".staff" / name / "grading.json").read_text())["result"]
    assert any("graded on jax" in note for note in result["notes"]), result["notes"]  # it ran on JAX, and says so
    return {c["name"]: (c["score"], c["max_score"]) for part in result["parts"] for c in part["checks"]}


def test_reference_and_stubs_score_as_on_tensorflow(jax_graded, digits_reference, digits_stubs):
    for name, on_tensorflow in (("reference", digits_reference), ("stubs", digits_stubs)):
        on_jax = checks_of(jax_graded, name)
        expected = {c.name: c.score for c in on_tensorflow.checks()}
        assert on_jax.keys() == expected.keys()
        for check, score in expected.items():
            assert on_jax[check][0] == pytest.approx(score, abs=1e-6), f"{name}: {check} on JAX {on_jax[check]}, on TensorFlow {score}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutant_loses_the_same_checks_as_on_tensorflow(jax_graded, mutant):
    """test_digits.py's verdicts on TensorFlow: every intended check lost, nothing else but collateral accuracy."""
    lost = {name for name, (score, top) in checks_of(jax_graded, mutant.name).items() if score < top - 1e-9}
    assert {i for i in mutant.intended if any(name.startswith(i) for name in lost)} == set(mutant.intended), sorted(lost)
    assert {name for name in lost if not name.startswith(mutant.intended + mutant.collateral)} == set(), sorted(lost)


def test_the_tf_data_check_passes_on_jax_for_the_reference_and_fails_for_a_block_that_does_nothing(ctx):
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
