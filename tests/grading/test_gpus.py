"""GPUs for grading (#13): which child gets which GPU and what settings, which device nodes a
sandboxed run may use. Checked on this CPU machine with device nodes made in a temporary /dev
(as root) and CUDA_VISIBLE_DEVICES as Slurm or a TA would set it; the device script
(benchmarks/gpu/) runs the same paths on a real GPU."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autograder.grading.gpus import CONTROL_NODES, child_environments, run_devices, visible_gpus
from autograder.grading.jobs import ChildPool, ChildSpec


@pytest.fixture
def fake_dev(tmp_path) -> Path:
    """A /dev with two GPUs, the driver's control nodes and a capability node (character devices, as on a GPU machine)."""
    if os.geteuid() != 0:
        pytest.skip("making character device nodes needs root")
    dev = tmp_path / "dev"
    (dev / "nvidia-caps").mkdir(parents=True)
    for name in ("nvidia0", "nvidia1", *CONTROL_NODES, "nvidia-caps/nvidia-cap1"):
        os.mknod(dev / name, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    return dev


def test_gpus_come_from_cuda_visible_devices_or_the_device_nodes(fake_dev):
    assert visible_gpus({}, fake_dev) == ["0", "1"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1"}, fake_dev) == ["1"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,-1,1"}, fake_dev) == ["0"]  # CUDA stops at the first invalid id
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, fake_dev) == []
    assert visible_gpus({}, fake_dev.parent) == []  # no device nodes: no GPU


def test_jobs_are_pinned_round_robin_with_safe_memory_settings_for_sharing():
    envs = child_environments(4, True, ["0", "1"])
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "0", "1"]
    for env in envs:
        assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" and env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
        # two children per GPU, two part workers each: a quarter of 90% each, never the whole GPU
        assert float(env["XLA_PYTHON_CLIENT_MEM_FRACTION"]) == pytest.approx(0.9 / 4, abs=1e-3)
    alone = child_environments(1, True, ["3"])[0]
    assert alone["CUDA_VISIBLE_DEVICES"] == "3" and float(alone["XLA_PYTHON_CLIENT_MEM_FRACTION"]) == pytest.approx(0.45)


def test_a_cpu_profile_hides_the_gpus_and_a_gpu_profile_without_gpus_runs_on_the_cpu():
    assert child_environments(2, False, ["0", "1"]) == [{"CUDA_VISIBLE_DEVICES": ""}] * 2
    assert child_environments(1, True, []) == [{"CUDA_VISIBLE_DEVICES": ""}]


def test_a_gpu_run_gets_its_own_gpu_and_the_control_nodes_only(fake_dev):
    names = [p.relative_to(fake_dev).as_posix() for p in run_devices({"CUDA_VISIBLE_DEVICES": "1"}, fake_dev)]
    assert "nvidia1" in names and "nvidia0" not in names
    assert set(CONTROL_NODES) <= set(names) and "nvidia-caps/nvidia-cap1" in names
    assert run_devices({"CUDA_VISIBLE_DEVICES": ""}, fake_dev) == []  # a CPU run: no device node at all
    uuid = [p.name for p in run_devices({"CUDA_VISIBLE_DEVICES": "GPU-8c1f"}, fake_dev)]
    assert {"nvidia0", "nvidia1"} <= set(uuid)  # a UUID cannot be mapped to a node: its GPUs' nodes all


def test_the_sandbox_binds_exactly_those_device_nodes(fake_dev, tmp_path):
    from autograder.sandbox.view import build_view

    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    devices = run_devices({"CUDA_VISIBLE_DEVICES": "0"}, fake_dev)
    view = build_view(workdir=work, readable=[], writable_out=out, hidden=[], tmp_bytes=2**20, devices=devices)
    bound = {m.dest for m in view.mounts if m.kind == "dev-bind"}
    assert bound == {str(p) for p in devices} and str(fake_dev / "nvidia1") not in bound


def test_each_grading_child_starts_with_its_own_gpu_settings(tmp_path):
    spec = ChildSpec(options={}, seconds=10.0, memory_bytes=2**30, uid=None, gid=None, user="", masks=(), readable=(), read_only=())
    pool = ChildPool(spec, 3, child_environments(3, True, ["0", "1"]))
    try:
        assert sorted(c.extra_env["CUDA_VISIBLE_DEVICES"] for c in pool.free) == ["0", "0", "1"]
    finally:
        pool.close()
