"""Each part of the reference lab, trained on the smoke profile with real images and real weights,
beats chance on the hidden test split (a one-sided binomial test, p < 0.001)."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from autograder.config import load_config
from autograder.lab import load_definition

pytestmark = pytest.mark.heavy(seconds=100)

REPO = __import__('pathlib').Path(__file__).resolve().parents[1]
CONFIG = load_config(REPO / 'course.yaml')
DEFINITION = load_definition(REPO / CONFIG.paths.solutions)


@pytest.fixture(scope="module")
def smoke_results(ctx, reference_lab):
    profile = ctx.profile("smoke")
    runner = ctx.definition().reference_runner(reference_lab, profile, ctx.split_loader(profile), ctx.weights_file(profile))
    return {result.name: result for result in runner.run_all()}


@pytest.mark.slow
@pytest.mark.parametrize("name", DEFINITION.run_names)
def test_part_beats_chance_on_the_hidden_split(smoke_results, name, ctx):
    result = smoke_results[name]
    n = len(result.labels)
    assert n == ctx.profile("smoke").test_images
    correct = round(result.accuracy * n)
    p_value = binomtest(correct, n, 0.5, alternative="greater").pvalue
    assert p_value < 1e-3, f"{name}: accuracy {result.accuracy:.3f} on {n} hidden images (p={p_value:.2g})"


@pytest.mark.slow
def test_training_curves_are_recorded_with_validation(smoke_results, ctx):
    profile = ctx.profile("smoke")
    assert len(smoke_results["scratch"].history["val_accuracy"]) == profile.scratch.epochs
    assert len(smoke_results["frozen_base"].history["val_loss"]) == profile.transfer.epochs
    assert 1 <= len(smoke_results["fine_tuned"].history["val_loss"]) <= profile.fine_tuning.epochs
