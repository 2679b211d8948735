"""The linear classifier is scored on the features of the student's own base when it is not the
reference's (the shared, cached features serve only bases verified to be the same)."""

from __future__ import annotations

import shutil

import pytest

OWN_BASE_NOTE = "fit_linear_classifier was fitted and scored on that base's features"


def _curve(result, name):
    return next(c for c in result.curves if c.name == name)


@pytest.mark.slow
def test_the_reference_base_uses_the_shared_features(reference_result):
    assert not any(OWN_BASE_NOTE in note for note in reference_result.notes)


@pytest.mark.slow
def test_a_base_without_imagenet_weights_is_scored_on_its_own_features(grader, ctx, tmp_path, reference_result):
    folder = tmp_path / "random_base"
    shutil.copytree(ctx.solutions_dir, folder, ignore=shutil.ignore_patterns("checks", "calibration", "__pycache__"))
    path = folder / "feature_extraction.py"
    source = path.read_text()
    old = "include_top=False, weights=weights"
    assert source.count(old) == 1
    path.write_text(source.replace(old, "include_top=False, weights=None"))
    result = grader.grade(folder, parts=("feature_extraction",))
    [note] = [n for n in result.notes if OWN_BASE_NOTE in n]
    assert "differs from the reference's ImageNet weights" in note
    own, shared = _curve(result, "linear_classifier"), _curve(reference_result, "linear_classifier")
    assert own.accuracy < shared.accuracy - 0.1, (own.accuracy, shared.accuracy)
    [linear_check] = [c for c in result.checks() if c.name.startswith("fit_linear_classifier")]
    assert linear_check.score < linear_check.max_score
