"""Shared by the export tests: submissions, `course grade` of a folder, environments.

The platforms' scores are compared with the suite's graded reference and stubs
(`reference_result`, `stub_result` in `tests/conftest.py`): what `course grade` gives them.

The real platform tools run in subprocesses with the test data: `grading_env` is their
environment (data, weights, cache, and this interpreter's folder first on PATH, where nbgrader
finds `alembic` and otter finds Jupyter); it lives in `tests/platforms.py`, shared with the security tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import TEST_PROFILE


def modules_of(folder: Path, ctx, target: Path) -> Path:
    """A submission folder holding only the four graded modules copied from `folder`."""
    target.mkdir(parents=True, exist_ok=True)
    for part in ctx.config.part_names:
        shutil.copy(folder / ctx.config.parts[part].module, target)
    return target


def course_grade(ctx, folder: Path, out: Path):
    """`course grade` (its API, `run_batch`) of one submission folder on the test profile."""
    from autograder.grading.batch import BatchOptions, run_batch

    loc = ctx.locations
    options = BatchOptions(
        profile=TEST_PROFILE, out=out, config=str(ctx.config_path),
        data_dir=str(loc.data_dir), weights_dir=str(loc.weights_dir), cache_dir=str(loc.cache_dir),
    )
    (result,) = run_batch([folder], options)
    return result


def part_scores(result) -> dict[str, float]:
    return {part.part: round(part.score, 3) for part in result.parts}


def same_scores(platform: dict[str, float], graded) -> bool:
    """Per-part scores equal to `course grade`'s, up to the platforms' rounding (0.01 point)."""
    return platform == pytest.approx(part_scores(graded), abs=0.01)


@pytest.fixture(scope="session")
def reference_submission(ctx, tmp_path_factory) -> Path:
    return modules_of(ctx.solutions_dir, ctx, tmp_path_factory.mktemp("reference") / "reference")


@pytest.fixture(scope="session")
def stub_submission(ctx, tmp_path_factory) -> Path:
    return modules_of(ctx.release_dir, ctx, tmp_path_factory.mktemp("stubs") / "stubs")
