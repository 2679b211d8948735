"""The transfer-learning lab on JAX (issue #13): the reference, the stubs and the whole mistake
catalogue give the same verdicts as on TensorFlow.

Keras's backends differ exactly where this lab grades: when a change of `trainable` after `compile`
is taken up (next step on PyTorch, next train-function build on TensorFlow, next epoch on JAX),
BatchNormalization's statistics in a frozen base, and preprocessing layers inside `tf.data`; four
mutants make their mistake in those places (a base left trainable, no compile after unfreezing,
BatchNormalization unfrozen, augmentation active at inference). The backend is chosen when Keras is
imported, so the JAX side grades in a child process with the engine's own `Grader`, as
test_mutants.py does on TensorFlow (a mutant grades its own part only, without the accuracy checks
its mistake is allowed to lower), about 15 s a mutant. JAX grades against its own calibration,
`calibration/ci.jax.json`. PyTorch runs the digits lab's whole catalogue here (test_backends.py) and
this lab's by hand (`benchmarks/backend_catalogue.py --backend torch`, recorded in benchmarks/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, TEST_PROFILE
from tests.grading.test_mutants import MUTANTS
from tests.labs.test_backends import require_backend

pytestmark = [pytest.mark.slow, pytest.mark.heavy(seconds=450)]

SCRIPT = """
import json, sys
from pathlib import Path
from autograder.context import CourseContext
from autograder.grading.runner import Grader
config, data, weights, cache, profile, plan, out = sys.argv[1:]
sys.path.insert(0, str(Path(config).parent))
from tests.grading.test_mutants import without_checks
ctx = CourseContext.create(config, data, weights, cache, download=False, lab="transfer_learning")
grader = Grader(ctx, profile, ctx.solutions_dir / "checks")
results = {}
for name, folder, parts, skipped in json.loads(plan):
    graded = without_checks(grader, tuple(skipped))  # the accuracy checks the mistake may lower
    result = graded.grade(Path(folder), parts=tuple(parts) if parts else None)
    results[name] = {"backend": result.backend, "notes": list(result.notes), "checks": {c.name: [c.score, c.max_score] for c in result.checks()}}
    print(name, "graded", flush=True)
Path(out).write_text(json.dumps(results))
"""


def mutant_plan(mutants, solutions, root) -> list:
    """SCRIPT's plan for `mutants`, each applied under `root`: its own part, without its collateral checks."""
    return [(m.name, str(m.apply(solutions, root / m.name)), [m.part], list(m.collateral)) for m in mutants]


@pytest.fixture(scope="module")
def graded_on_jax(ctx, tmp_path_factory) -> dict:
    require_backend("jax")
    root = tmp_path_factory.mktemp("transfer-jax")
    plan = [("reference", str(ctx.solutions_dir), None, ()), ("stubs", str(ctx.release_dir), None, ())]
    plan += mutant_plan(MUTANTS, ctx.solutions_dir, root)
    loc = ctx.locations
    out = root / "results.json"
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(REPO / "course.yaml"), str(loc.data_dir), str(loc.weights_dir),
         str(loc.cache_dir), TEST_PROFILE, json.dumps(plan), str(out)],
        capture_output=True, text=True, timeout=2400, check=False,
        env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(out.read_text())


def test_jax_grades_the_whole_catalogue(graded_on_jax):
    assert set(graded_on_jax) == {"reference", "stubs", *(m.name for m in MUTANTS)}
    assert {result["backend"] for result in graded_on_jax.values()} == {"jax"}


def test_reference_and_stubs_score_as_on_tensorflow(graded_on_jax, reference_result, stub_result):
    for name, on_tensorflow in (("reference", reference_result), ("stubs", stub_result)):
        on_jax = graded_on_jax[name]
        assert on_jax["backend"] == "jax"
        assert not any("graded on jax" in note for note in on_jax["notes"]), on_jax["notes"]  # its own calibration
        expected = {c.name: c.score for c in on_tensorflow.checks()}
        assert on_jax["checks"].keys() == expected.keys()
        for check, score in expected.items():
            assert on_jax["checks"][check][0] == pytest.approx(score, abs=1e-6), (
                f"{name}: {check} on JAX {on_jax['checks'][check]}, on TensorFlow {score}"
            )


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mistake_loses_the_same_checks_as_on_tensorflow(graded_on_jax, mutant):
    """test_mutants.py's verdicts on TensorFlow: every intended check lost, nothing else."""
    checks = graded_on_jax[mutant.name]["checks"]
    lost = {name for name, (score, top) in checks.items() if score < top - 1e-9}
    assert {i for i in mutant.intended if any(name.startswith(i) for name in lost)} == set(mutant.intended), sorted(lost)
    assert {name for name in lost if not name.startswith(mutant.intended)} == set(), sorted(lost)
