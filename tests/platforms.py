"""Fixtures the export tests and the security tests share, computed once for the whole suite.

A fixture defined in one test module and imported into another is a second fixture, computed
again: the one real `nbgrader autograde` of three students (about three minutes) lives here so
that `tests/export/test_nbgrader.py` and `tests/security/test_exports.py` read the same run.
Registered by `tests/conftest.py` (`pytest_plugins`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def grading_env(ctx) -> dict[str, str]:
    """The platform tools' environment: the test data, weights and cache, and this interpreter's
    folder first on PATH (where nbgrader finds `alembic` and otter finds Jupyter)."""
    loc = ctx.locations
    return {
        **os.environ,
        "COURSE_DATA_DIR": str(loc.data_dir),
        "COURSE_WEIGHTS_DIR": str(loc.weights_dir),
        "COURSE_CACHE_DIR": str(loc.cache_dir),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@pytest.fixture(scope="session")
def nbgrader_course(ctx, tmp_path_factory, grading_env) -> Path:
    """The exported nbgrader course directory, after the real `nbgrader generate_assignment`."""
    from tests.export.test_nbgrader import exported_course

    return exported_course(ctx, tmp_path_factory.mktemp("nbgrader"), grading_env)


@pytest.fixture(scope="session")
def attack_marker(tmp_path_factory) -> Path:
    """The file a kernel attack would leave if any student cell ran at autograde."""
    return tmp_path_factory.mktemp("attack") / "ran"


@pytest.fixture(scope="session")
def gradebook_scores(nbgrader_course, ctx, grading_env, attack_marker) -> dict[str, dict[str, float]]:
    """Student (solved, stub, attacker) -> part -> score, from one real `nbgrader autograde`."""
    from tests.export.test_nbgrader import autograde

    return autograde(nbgrader_course, ctx, grading_env, attack_marker)
