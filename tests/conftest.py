"""Shared fixtures: the real data and weights (../shared in development and CI), a context, caches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# pytest-xdist's workers start with COLUMNS=80 set; `course`'s consoles fix their width from
# COLUMNS when imported, so a test's own COLUMNS (CliRunner's env) would be ignored.
os.environ.pop("COLUMNS", None)

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


def graded_once(tmp_path_factory, name: str, grade):
    """`grade()`'s SubmissionResult, made once per test run. The suite runs in pytest-xdist workers
    (README): the first worker to ask grades and writes the result beside the workers' temporary
    folders, under a lock; the others wait for it and read it back as `course grade`'s children's
    results are read (`SubmissionResult.from_dict`)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return grade()
    import fcntl
    import json

    from autograder.grading.result import SubmissionResult

    folder = tmp_path_factory.getbasetemp().parent / "graded-once"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    with (folder / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.is_file():
            return SubmissionResult.from_dict(json.loads(path.read_text()))
        result = grade()
        path.write_text(json.dumps(result.to_dict()))
        return result


@pytest.fixture(scope="session")
def reference_result(grader, ctx, tmp_path_factory):
    """The reference solution graded once for the whole suite: what `course grade` gives it, and
    what the platform exports must reproduce."""
    return graded_once(tmp_path_factory, "reference", lambda: grader.grade(ctx.solutions_dir))


@pytest.fixture(scope="session")
def stub_result(grader, ctx, tmp_path_factory):
    """The release's untouched stubs, graded once for the whole suite."""
    return graded_once(tmp_path_factory, "stubs", lambda: grader.grade(ctx.release_dir))


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
def digits_reference(digits_grader, digits, tmp_path_factory):
    """The digits reference, graded once for the whole suite."""
    return graded_once(tmp_path_factory, "digits-reference", lambda: digits_grader.grade(digits.solutions_dir))


@pytest.fixture(scope="session")
def digits_stubs(digits_grader, digits, tmp_path_factory):
    """The digits release's untouched stubs, graded once for the whole suite."""
    return graded_once(tmp_path_factory, "digits-stubs", lambda: digits_grader.grade(digits.release_dir))


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto` (pyproject's addopts): one worker per core and one more, at most one per 6 GiB.

    A test spends part of its time starting sandboxes and processes and waiting on them; with one
    worker more than cores, some task waited for a core 88% of the time in CI's run on 2 cores
    (benchmarks/README.md, "The test suite in parallel"). A worker's gradings need a few GiB.
    """
    cores = os.cpu_count() or 1
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return max(1, min(cores + 1, int(memory_gib // 6)))


# Modules that read one costly session fixture, run on one worker so that it is made once.
SAME_WORKER = {
    "tests/export/test_nbgrader.py": "nbgrader-autograde",  # both read tests/platforms.py's
    "tests/security/test_exports.py": "nbgrader-autograde",  # real `nbgrader autograde`
}


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` (pyproject's addopts) by module: a module's tests run on one worker, so
    its module fixtures are made once, and the modules of one SAME_WORKER group share a worker."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # noqa: PLC0415

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]
            return SAME_WORKER.get(module, module)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config, items) -> None:
    """The modules marked `heavy` first, longest first; the rest after, in their order. With
    `--no-loadscope-reorder` (pyproject's addopts) pytest-xdist hands out work in this order, so
    the long modules start at once and the short ones fill in."""

    def seconds(item) -> float:
        mark = item.get_closest_marker("heavy")
        return -float(mark.kwargs.get("seconds", 0)) if mark else 0.0

    items.sort(key=seconds)  # stable: each module's tests keep their order
