"""Fixtures for the sandbox tests: a `Box` at each isolation level, skipped where unavailable.

Set `COURSE_SANDBOX_REQUIRE=bwrap` (comma-separated levels) where a level must be there, as in
CI: its tests then fail instead of being skipped when it is missing.
"""

from __future__ import annotations

import os

import pytest
from sandbox_testing import Box

from autograder.sandbox import IsolationLevel, unavailable_reason


def _skip_unless_available(level: IsolationLevel) -> None:
    reason = unavailable_reason(level)
    required = os.environ.get("COURSE_SANDBOX_REQUIRE", "").replace(" ", "").split(",")
    if reason is not None and level.value in required:
        pytest.fail(f"isolation level `{level.value}` is required (COURSE_SANDBOX_REQUIRE) but {reason}")
    if reason is not None:
        pytest.skip(f"isolation level `{level.value}` not available here: {reason}")


@pytest.fixture(params=list(IsolationLevel), ids=lambda level: level.value)
def box(request, tmp_path) -> Box:
    """A box at each isolation level; levels this machine lacks are skipped with the reason."""
    _skip_unless_available(request.param)
    return Box(request.param, tmp_path)


@pytest.fixture(params=[IsolationLevel.BWRAP, IsolationLevel.NAMESPACES], ids=lambda level: level.value)
def strong_box(request, tmp_path) -> Box:
    """A box at each level that promises hidden paths and no network."""
    _skip_unless_available(request.param)
    return Box(request.param, tmp_path)


@pytest.fixture
def plain_box(tmp_path) -> Box:
    """A box at the weak, always-available `plain` level."""
    return Box(IsolationLevel.PLAIN, tmp_path)
