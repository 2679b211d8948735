"""Fixtures for the report tests."""

from __future__ import annotations

import pytest

from autograder.grading.result import SubmissionResult

from .factories import make_result


@pytest.fixture
def result() -> SubmissionResult:
    return make_result()
