"""The run cgroup's bookkeeping, on fake hierarchies (plain folders) for the versions this machine lacks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.sandbox import Limits, cgroups
from autograder.sandbox.limits import GIB


def _fake_v2(folder: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cgroup.controllers").write_text(controllers + "\n")
    (folder / "cgroup.subtree_control").write_text("\n")
    return folder


def test_v2_run_group_gets_memory_pids_and_cpu_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "v1_roots", lambda: {})
    monkeypatch.setattr(cgroups, "v2_root", lambda: None)
    parent = _fake_v2(tmp_path / "delegated")
    limits = Limits(memory_bytes=2 * GIB, max_processes=100, cpu_cores=1.5)
    # A fake hierarchy makes no controller files in new folders: the kernel would.
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)
        for name in ("memory.max", "memory.swap.max", "memory.oom.group", "pids.max", "cpu.max"):
            (self / name).write_text("")
        (self / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")

    monkeypatch.setattr(Path, "mkdir", mkdir)
    group, reason = cgroups.create_run_cgroup(limits, parent)
    assert reason == "" and group is not None and group.label == "cgroup v2"
    run = group.dirs["unified"]
    assert run.parent == parent
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (run / "memory.max").read_text() == str(2 * GIB)
    assert (run / "memory.swap.max").read_text() == "0"
    assert (run / "memory.oom.group").read_text() == "1"
    assert (run / "pids.max").read_text() == str(100 + cgroups.SANDBOX_OVERHEAD_TASKS)
    assert (run / "cpu.max").read_text() == "150000 100000"
    assert group.oom_kills() == 2
    assert group.procs_files == [str(run / "cgroup.procs")]
    argv = group.wrap(["bwrap", "--", "python"])
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv[3:] == ["sandbox-cgroup", str(run / "cgroup.procs"), "--", "bwrap", "--", "python"]


def test_v2_parent_without_the_controllers_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "v1_roots", lambda: {})
    parent = _fake_v2(tmp_path / "poor", controllers="cpu io")
    group, reason = cgroups.create_run_cgroup(Limits(), parent)
    assert group is None and reason


def test_off_turns_cgroups_off(monkeypatch):
    monkeypatch.setenv(cgroups.ENV_PARENT, cgroups.OFF)
    group, reason = cgroups.create_run_cgroup(Limits())
    assert group is None and "turned off" in reason


def test_v1_parents_from_one_absolute_folder_per_hierarchy(tmp_path, monkeypatch):
    roots = {name: tmp_path / name for name in cgroups.CONTROLLERS}
    for root in roots.values():
        (root / "grader").mkdir(parents=True)
    monkeypatch.setattr(cgroups, "v1_roots", lambda: roots)
    setting = cgroups.parent_setting([root / "grader" for root in roots.values()])
    assert cgroups._v1_parents(setting) == {name: root / "grader" for name, root in roots.items()}
    assert cgroups._v1_parents(str(roots["memory"] / "grader")) is None  # one hierarchy is not enough
    assert cgroups._v2_parent(setting) is None


def test_join_script_joins_then_execs(tmp_path):
    procs = tmp_path / "cgroup.procs"
    group = cgroups.RunCgroup("v2", {"unified": tmp_path})
    out = os.popen(" ".join(f"'{a}'" for a in group.wrap(["sh", "-c", "echo $$"]))).read().strip()
    assert procs.read_text().strip() == out  # the same process joined, then became the command
    bad = cgroups.RunCgroup("v2", {"unified": tmp_path / "missing"})
    status = os.system(" ".join(f"'{a}'" for a in bad.wrap(["true"])) + " 2>/dev/null")
    assert os.waitstatus_to_exitcode(status) == 125


@pytest.mark.skipif(cgroups.probe() == "watchdog", reason="no cgroup this user may manage here")
def test_probe_names_what_enforces_limits_here():
    assert cgroups.probe() in ("cgroup v1", "cgroup v2")
