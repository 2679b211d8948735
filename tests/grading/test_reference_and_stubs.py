"""The reference solution earns full marks (on the test profile; smoke: the grading benchmark); the untouched stubs earn zero, clearly."""

from __future__ import annotations

import pytest

from autograder.reports.gradescope import validate_results_json
from tests.grading.conftest import failing


@pytest.mark.slow
def test_reference_solution_gets_full_marks(reference_result, ctx):
    assert failing(reference_result) == []
    assert reference_result.score == pytest.approx(ctx.config.total_points, abs=1e-3)
    assert {p.sandbox.outcome for p in reference_result.parts} == {"ok"}
    # Every trained model's curve, in the lab's order (whichever part's worker finished first).
    assert [c.name for c in reference_result.curves] == ["scratch", "scratch_augmented", "linear_classifier", "frozen_base", "fine_tuned"]
    assert validate_results_json(reference_result.to_gradescope()) == []


def test_stubs_get_zero_with_a_not_implemented_message_per_function(stub_result, ctx):
    assert stub_result.score == 0
    assert stub_result.max_score == pytest.approx(ctx.config.total_points)
    for check in stub_result.checks():
        assert "NotImplementedError" in check.message, check
    messages = " ".join(c.message for c in stub_result.checks())
    for part in ctx.config.parts.values():
        for function in part.functions:
            assert f"NotImplementedError: {function}:" in messages, function
    assert {p.sandbox.outcome for p in stub_result.parts} == {"ok"}
    assert validate_results_json(stub_result.to_gradescope()) == []


def test_points_per_part_come_from_course_yaml(stub_result, ctx):
    for part in stub_result.parts:
        assert part.max_score == pytest.approx(ctx.config.parts[part.part].points)
        assert sum(c.max_score for c in part.checks) == pytest.approx(part.max_score, abs=1e-3)


@pytest.mark.slow
def test_grading_twice_gives_identical_scores(reference_result, grader, ctx):
    parts = ("feature_extraction", "fine_tuning")
    again = grader.grade(ctx.solutions_dir, parts=parts)
    first = {c.name: c.score for c in reference_result.checks() if c.part in parts}
    assert {c.name: c.score for c in again.checks()} == first
    accuracies = {c.name: c.accuracy for c in reference_result.curves}
    assert {c.name: c.accuracy for c in again.curves} == {k: accuracies[k] for k in ("linear_classifier", "frozen_base", "fine_tuned")}


def test_course_check_runs_the_public_checks_on_a_working_copy(ctx, tmp_path):
    import shutil
    import subprocess
    import sys

    for module in ("augmentation.py", "scratch.py", "feature_extraction.py", "fine_tuning.py"):
        shutil.copy(ctx.release_dir / module, tmp_path / module)
    loc = ctx.locations
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "check", str(tmp_path), "--config", str(ctx.config_path),
         "--data-dir", str(loc.data_dir), "--weights-dir", str(loc.weights_dir), "--cache-dir", str(loc.cache_dir)],
        capture_output=True, text=True, timeout=600, check=False, env={**__import__("os").environ, "COLUMNS": "200"},
    )
    assert run.returncode == 1, run.stderr[-2000:]
    assert "0 of the " in run.stdout and "points checked here" in run.stdout and "the rest are hidden" in run.stdout
    assert "NotImplementedError" in run.stdout and "build_scratch_cnn" in run.stdout
    assert "hidden-test accuracy" not in run.stdout  # public checks only
    # The student's own frames only, each cause once, and no framework noise.
    output = run.stdout + run.stderr
    assert 'File "scratch.py"' in run.stdout and "course-grade-" not in run.stdout
    assert "autograder/" not in output, [line for line in output.splitlines() if "autograder/" in line][:3]
    assert "the same cause as" in run.stdout
    assert "oneDNN" not in output and "absl::InitializeLog" not in output and "Skipping variable loading" not in output
