"""Helpers of the grading tests. The grader and the graded reference and stubs are shared by the
whole suite (`tests/conftest.py`)."""

from __future__ import annotations


def failing(result):
    return [f"{c.part}: {c.name}: {c.score}/{c.max_score}: {c.message[:300]}" for c in result.checks() if not c.ok]
