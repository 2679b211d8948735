"""Adding a check on new data touches two files, both in the lab's folder, and nothing in the engine.

A copy of the lab gets a new probe (in its `probes.py`) and a new check that asks for the probe's
artifact (in its checks file, which also gives it a point from another check so the part still
adds up). The copy grades with it: the reference passes the new check (its expected side comes
from the same probe run on the reference), a submission with one extra layer fails it.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from autograder.context import CourseContext
from autograder.grading.runner import Grader
from tests.conftest import TEST_PROFILE

NEW_PROBE = '''

@probe("scratch", scratch_summary=json_file("scratch_summary.json"))
def scratch_summary(module: ModuleType, ctx: ProbeContext) -> dict:
    """How many layers the convnet has at 150x150 (a new probe, declared in this file only)."""
    model = require_model(module.build_scratch_cnn((150, 150, 3)), "build_scratch_cnn")
    (ctx.out / "scratch_summary.json").write_text(json.dumps({"layers": len(model.layers)}))
    return {"artifact": "scratch_summary.json"}
'''

NEW_CHECK = '''

@check(part="scratch", points=1, visibility="hidden", name="build_scratch_cnn: as many layers as the reference")
def scratch_layer_count(scratch_summary, reference):
    expected = reference.scratch_summary["layers"]
    assert scratch_summary["layers"] == expected, f"Expected {expected} layers. Received: {scratch_summary['layers']}"
'''


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_a_check_on_a_new_artifact_needs_two_files_of_the_lab_only(ctx, tmp_path):
    root = tmp_path / "course"
    lab = root / ctx.config.paths.solutions
    shutil.copytree(ctx.solutions_dir, lab, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ctx.release_dir, root / ctx.config.paths.release, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ctx.config_path, root / "course.yaml")
    before = _digests(lab)

    probes = lab / "probes.py"
    probes.write_text(probes.read_text() + NEW_PROBE)
    checks = lab / "checks" / "scratch_checks.py"
    source = checks.read_text()
    taken = 'points=2, visibility="hidden", name="build_scratch_cnn: layers"'
    assert source.count(taken) == 1
    checks.write_text(source.replace(taken, taken.replace("points=2", "points=1")) + NEW_CHECK)
    changed = {name for name, digest in _digests(lab).items() if before.get(name) != digest}
    assert changed == {"probes.py", "checks/scratch_checks.py"}

    loc = ctx.locations
    copy = CourseContext.create(root / "course.yaml", loc.data_dir, loc.weights_dir, loc.cache_dir, download=False)
    grader = Grader(copy, TEST_PROFILE, lab / "checks")
    grader.checks = [c for c in grader.checks if "accuracy" not in c.meta.name]  # no training needed here
    new = "build_scratch_cnn: as many layers as the reference"

    reference = {c.name: c for c in grader.grade(lab, parts=("scratch",)).checks()}
    assert reference[new].ok and reference[new].max_score == 1.0, reference[new].message

    mutant = tmp_path / "mutant"
    shutil.copytree(lab, mutant, ignore=shutil.ignore_patterns("checks", "calibration", "__pycache__"))
    scratch = mutant / "scratch.py"
    line = '    x = layers.Dense(512, activation="relu")(x)\n'
    scratch.write_text(scratch.read_text().replace(line, line + '    x = layers.Dense(64, activation="relu")(x)\n'))
    lost = {c.name: c for c in grader.grade(mutant, parts=("scratch",)).checks()}
    assert not lost[new].ok and "Expected" in lost[new].message


NEW_PUBLIC_CHECK = NEW_CHECK.replace('visibility="hidden"', 'visibility="visible"')


@pytest.mark.slow
def test_a_public_check_on_a_new_artifact_gets_its_expected_value_from_the_same_probe(ctx, tmp_path):
    """The same two files make a *public* check: `course release` runs the new probe on the reference
    for the snapshot (no lab code writes its expected value), and `course check` judges with it."""
    from autograder.grading.public import SNAPSHOT
    from autograder.release import build_release, write_release

    root = tmp_path / "course"
    lab = root / ctx.config.paths.solutions
    shutil.copytree(ctx.solutions_dir, lab, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ctx.config_path, root / "course.yaml")
    probes = lab / "probes.py"
    probes.write_text(probes.read_text() + NEW_PROBE)
    checks = lab / "checks" / "scratch_checks.py"
    source = checks.read_text()
    taken = 'points=2, visibility="hidden", name="build_scratch_cnn: layers"'
    checks.write_text(source.replace(taken, taken.replace("points=2", "points=1")) + NEW_PUBLIC_CHECK)

    loc = ctx.locations
    copy = CourseContext.create(root / "course.yaml", loc.data_dir, loc.weights_dir, loc.cache_dir, download=False)
    write_release(build_release(lab, copy.config), copy.release_dir)
    snapshot = json.loads((copy.release_dir / "checks" / SNAPSHOT).read_text())
    layers = {name: values["scratch_summary"] for name, values in snapshot["profiles"].items()}
    assert set(layers) == set(copy.config.profiles)
    assert all(entry == {"kind": "json", "value": {"layers": 13}} for entry in layers.values()), layers

    grader = Grader(copy, "smoke", copy.release_dir / "checks", public=True)
    new = "build_scratch_cnn: as many layers as the reference"
    assert new in {c.meta.name for c in grader.checks}
    reference = {c.name: c for c in grader.grade(lab, parts=("scratch",)).checks()}
    assert reference[new].ok and reference[new].max_score == 1.0, reference[new].message
    stubs = {c.name: c for c in grader.grade(copy.release_dir, parts=("scratch",)).checks()}
    assert not stubs[new].ok
