"""Fixtures for the sandbox tests: a `Box` at each isolation level, skipped where unavailable.

Set `COURSE_SANDBOX_REQUIRE=bwrap` (comma-separated levels) where a level must be there, as in
CI: its tests then fail instead of being skipped when it is missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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


@pytest.fixture
def open_tmp_path(tmp_path):
    """A fresh folder every user can pass through (pytest's own is private to root).

    The plain level as root runs the code under a user id of its own, with no view of its
    own: its workdir must be reachable by that user, as real course folders are.
    """
    if os.geteuid() != 0:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="sandbox-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=list(IsolationLevel), ids=lambda level: level.value)
def box(request, open_tmp_path) -> Box:
    """A box at each isolation level; levels this machine lacks are skipped with the reason."""
    _skip_unless_available(request.param)
    return Box(request.param, open_tmp_path)


@pytest.fixture(params=[IsolationLevel.BWRAP, IsolationLevel.NAMESPACES], ids=lambda level: level.value)
def strong_box(request, tmp_path) -> Box:
    """A box at each level that promises hidden paths and no network."""
    _skip_unless_available(request.param)
    return Box(request.param, tmp_path)


@pytest.fixture
def plain_box(open_tmp_path) -> Box:
    """A box at the weak, always-available `plain` level."""
    return Box(IsolationLevel.PLAIN, open_tmp_path)
