"""A grader on the test profile (`ci`) with the lab's hidden checks, shared by the grading tests."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PROFILE


@pytest.fixture(scope="session")
def grader(ctx):
    from autograder.grading.runner import Grader

    return Grader(ctx, TEST_PROFILE, ctx.solutions_dir / "checks")


@pytest.fixture(scope="session")
def reference_result(grader, ctx):
    return grader.grade(ctx.solutions_dir)


@pytest.fixture(scope="session")
def stub_result(grader, ctx):
    return grader.grade(ctx.release_dir)


def failing(result):
    return [f"{c.part}: {c.name}: {c.score}/{c.max_score}: {c.message[:300]}" for c in result.checks() if not c.ok]
