"""The grader's cached inputs are built once, even by several processes at once, and never
deleted while complete (another job may be reading them)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder.grading.inputs import build_once


def _builder(log: list, delay: float = 0.5):
    lock = threading.Lock()

    def build(staging):
        with lock:
            log.append(staging.name)
        time.sleep(delay)
        staging.mkdir(parents=True)
        (staging / "data.txt").write_text("built once")

    return build


def test_concurrent_callers_take_turns_and_the_first_builds(tmp_path):
    root, log = tmp_path / "grading" / "smoke-abc", []
    with ThreadPoolExecutor(3) as pool:
        built = list(pool.map(lambda _: build_once(root, _builder(log), {"profile": "smoke"}), range(3)))
    assert sorted(built) == [False, False, True]
    assert len(log) == 1
    assert (root / "data.txt").read_text() == "built once" and (root / "complete.json").is_file()
    assert [p.name for p in root.parent.iterdir() if ".tmp" in p.name] == []


def test_a_complete_folder_is_reused_never_rebuilt(tmp_path):
    root, log = tmp_path / "smoke-abc", []
    build_once(root, _builder(log, 0), {})
    stamp = (root / "data.txt").stat().st_mtime_ns
    assert build_once(root, _builder(log, 0), {}) is False
    assert len(log) == 1 and (root / "data.txt").stat().st_mtime_ns == stamp


def test_a_failed_build_leaves_nothing_and_the_next_call_builds(tmp_path):
    root = tmp_path / "smoke-abc"

    def broken(staging):
        staging.mkdir()
        raise RuntimeError("out of disk")

    with pytest.raises(RuntimeError, match="out of disk"):
        build_once(root, broken, {})
    assert not root.exists() and [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
    assert build_once(root, _builder([], 0), {}) is True
