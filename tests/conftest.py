"""Shared fixtures: the real data and weights (../shared in development and CI), a context, caches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytest_plugins = ["tests.platforms"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _dir(env: str, default: Path) -> Path:
    return Path(os.environ.get(env) or default)


# The profile the grading, batch, hostile, export and submit tests grade with: the grading machinery
# on real images and weights, with seconds of training per part. Accuracy on the smoke profile is
# what `tests/test_end_to_end.py` checks; the benchmarks measure the others.
TEST_PROFILE = "ci"

DATA_DIR = _dir("COURSE_DATA_DIR", SHARED / "data")
WEIGHTS_DIR = _dir("COURSE_WEIGHTS_DIR", SHARED / "weights" / "keras")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "cats_and_dogs_filtered").is_dir():
        pytest.fail(f"Real data not found in {DATA_DIR}: set COURSE_DATA_DIR (see README)")
    return DATA_DIR


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    if not WEIGHTS_DIR.is_dir():
        pytest.fail(f"Real weights not found in {WEIGHTS_DIR}: set COURSE_WEIGHTS_DIR (see README)")
    return WEIGHTS_DIR


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    configured = os.environ.get("COURSE_CACHE_DIR")
    return Path(configured) if configured else tmp_path_factory.mktemp("course-cache")


@pytest.fixture(scope="session")
def ctx(data_dir, weights_dir, cache_dir):
    """A context on the repository's course.yaml with the real data and weights, never downloading."""
    from autograder.context import CourseContext

    return CourseContext.create(REPO / "course.yaml", data_dir, weights_dir, cache_dir, download=False)


@pytest.fixture(scope="session")
def reference_lab(ctx):
    return ctx.reference_modules("reference_tests")


@pytest.fixture(scope="session")
def grader(ctx):
    """A grader on the test profile with the lab's hidden checks."""
    from autograder.grading.runner import Grader

    return Grader(ctx, TEST_PROFILE, ctx.solutions_dir / "checks")


@pytest.fixture(scope="session")
def reference_result(grader, ctx):
    """The reference solution graded once for the whole suite: what `course grade` gives it, and
    what the platform exports must reproduce."""
    return grader.grade(ctx.solutions_dir)


@pytest.fixture(scope="session")
def stub_result(grader, ctx):
    """The release's untouched stubs, graded once for the whole suite."""
    return grader.grade(ctx.release_dir)


# The second lab, `digits`: the engine's own behaviour (batches, children, resume) is tested on it
# where the lab does not matter, because it grades in seconds where transfer learning takes a minute.
DIGITS = "digits"


@pytest.fixture(scope="session")
def digits(data_dir, weights_dir, cache_dir):
    """A context on the same course.yaml for the `digits` lab."""
    from autograder.context import CourseContext

    return CourseContext.create(REPO / "course.yaml", data_dir, weights_dir, cache_dir, download=False, lab=DIGITS)


@pytest.fixture(scope="session")
def digits_grader(digits):
    from autograder.grading.runner import Grader

    return Grader(digits, TEST_PROFILE, digits.solutions_dir / "checks")


@pytest.fixture(scope="session")
def digits_reference(digits_grader, digits):
    """The digits reference, graded once for the whole suite."""
    return digits_grader.grade(digits.solutions_dir)


@pytest.fixture(scope="session")
def digits_stubs(digits_grader, digits):
    """The digits release's untouched stubs, graded once for the whole suite."""
    return digits_grader.grade(digits.release_dir)
