"""The sandbox run by an unprivileged user (a TA's or student's machine), tested as `nobody`.

The grader here is root, so these tests start the system Python as `nobody` (65534) and run
`unprivileged_scenario.py` with it: bubblewrap then uses a user namespace, and the plain level
relies on `RLIMIT_NPROC` counting that user's processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox import procs

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to start a process as `nobody`"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"needs a system Python at {SYSTEM_PYTHON} that `nobody` can run"
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import sys; assert sys.version_info >= (3, 11); sys.path.insert(0, sys.argv[1]); "
            "import autograder.sandbox",
            str(REPO),
        ],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        capture_output=True,
        cwd="/",
    )
    if probe.returncode != 0:
        error = probe.stderr.decode()[-300:]
        return f"`nobody` cannot import autograder.sandbox with {SYSTEM_PYTHON} (>= 3.11, repo readable): {error}"
    return None


@pytest.fixture(scope="module")
def scenario():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)

    cache: dict = {}

    def run(level: str, extra_env: dict | None = None) -> dict:
        key = (level, tuple(sorted((extra_env or {}).items())))
        if key not in cache:
            cache[key] = _run(level, extra_env)
        if "unavailable" in cache[key]:
            pytest.skip(f"`{level}` not available to `nobody` here: {cache[key]['unavailable']}")
        return cache[key]

    def _run(level: str, extra_env: dict | None = None) -> dict:
        base = tempfile.mkdtemp(prefix="autograder-unprivileged-")
        os.chmod(base, 0o755)
        os.chown(base, NOBODY, NOBODY)
        try:
            done = subprocess.run(
                [
                    SYSTEM_PYTHON,
                    "-I",
                    str(Path(__file__).with_name("unprivileged_scenario.py")),
                    str(REPO),
                    base,
                    level,
                ],
                user=NOBODY,
                group=NOBODY,
                extra_groups=[],
                capture_output=True,
                cwd="/",
                timeout=120,
                env={"PATH": "/usr/bin:/bin", "HOME": base, "LANG": "C.UTF-8", **(extra_env or {})},
            )
        finally:
            shutil.rmtree(base, ignore_errors=True)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return json.loads(done.stdout)

    return run


def _live_processes_of_nobody():
    return [info for info in procs.snapshot().values() if info.uid == NOBODY and info.state not in ("Z", "X")]


@pytest.mark.parametrize("level", ["bwrap", "plain"])
def test_unprivileged_limits_and_cleanup(scenario, level):
    results = scenario(level)
    assert results["exit3"]["outcome"] == "exit_nonzero" and results["exit3"]["exit_code"] == 3
    assert results["loop"]["outcome"] == "timeout"
    assert results["memory"]["outcome"] == "memory"
    bomb = results["fork_bomb"]
    assert bomb["outcome"] == "ok", bomb
    assert int(bomb["stdout"]) < 40 and bomb["strays"] >= int(bomb["stdout"])
    assert _live_processes_of_nobody() == []


@pytest.mark.parametrize("level", ["bwrap", "plain"])
def test_unprivileged_shared_memory_binds_at_the_watchdog_level(scenario, level):
    # No cgroup for `nobody`: the watchdog counts memfds and the private tmpfs, and says it is weaker.
    results = scenario(level)
    hog = results["shared_memory"]
    assert hog["limits"] == "watchdog" and "Limits not enforced by the kernel" in hog["warnings"][-1]
    assert hog["outcome"] == "memory", hog


@pytest.mark.parametrize("level", ["bwrap", "plain"])
def test_unprivileged_grader_threads_do_not_count_against_the_code(scenario, level):
    # The grader holds 60 threads; the code may still start 30 under max_processes=40.
    results = scenario(level)
    assert results["threads"]["outcome"] == "ok", results["threads"]
    assert results["threads"]["stdout"].strip() == "30"


def test_unprivileged_bwrap_hides_paths(scenario):
    results = scenario("bwrap")
    hidden = results["hidden"]
    assert hidden["outcome"] == "exit_nonzero" and "PermissionError" in hidden["stderr"]
    assert results["exit3"]["uid"] is None and "user namespace" in results["exit3"]["warnings"][0]


def test_unprivileged_plain_is_weak_and_says_so(scenario):
    results = scenario("plain")
    assert results["hidden"]["outcome"] == "ok"  # the weak level cannot hide files...
    assert "Weak isolation" in results["hidden"]["warnings"][0]  # ...and says so


def test_delegated_cgroup_makes_limits_bind_for_an_unprivileged_grader(scenario):
    from autograder.sandbox import cgroups

    if cgroups.probe() == "watchdog":
        pytest.skip("no cgroup hierarchy with memory, pids and cpu that root can manage here")
    folders = cgroups.delegate_cgroup(f"autograder-test-{os.getpid()}", NOBODY, NOBODY)
    try:
        results = scenario("bwrap", {cgroups.ENV_PARENT: cgroups.parent_setting(folders)})
    finally:
        cgroups.undelegate_cgroup(folders)
    hog = results["shared_memory"]
    assert hog["limits"].startswith("cgroup v"), hog
    assert hog["outcome"] == "memory" and "OOM killer" in hog["message"], hog
    assert results["fork_bomb"]["outcome"] == "ok" and int(results["fork_bomb"]["stdout"]) < 40
    assert results["threads"]["outcome"] == "ok", results["threads"]
    assert all(not folder.exists() for folder in folders)
