"""GPUs for grading: which grading child gets which GPU, with which memory settings, and which
device nodes a sandboxed run may use.

A profile says whether it grades on GPUs (`gpus` in `course.yaml`; the `gpu` profile asks 1).
On such a profile, `course grade --jobs N` on a machine with G GPUs pins child i to GPU i mod G
(`CUDA_VISIBLE_DEVICES`). Every process on a GPU shares it with others (a child's part workers
run two at a time, and with N > G several children share one GPU), so each gets settings that
make sharing safe on every Keras backend: no preallocation on JAX (which otherwise takes 75% of
the GPU per process) and a memory fraction of its share, memory growth on TensorFlow, expandable
segments on PyTorch. A CPU profile hides the GPUs (`CUDA_VISIBLE_DEVICES=""`), so it grades as
calibrated, on the CPU, wherever it runs. The sandbox of a GPU run gets the device nodes of its
own GPU and the driver's control nodes (`run_devices`); a CPU run gets none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

PARTS_AT_ONCE = 2  # part workers a grading child runs at a time (see autograder.grading.runner)
SHARING = ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION", "TF_FORCE_GPU_ALLOW_GROWTH", "PYTORCH_CUDA_ALLOC_CONF")
CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


def visible_gpus(env: Mapping[str, str] = os.environ, dev: Path = Path("/dev")) -> list[str]:
    """The GPUs this process may use: `CUDA_VISIBLE_DEVICES` when set, else one per `/dev/nvidiaN`.

    Example:
        >>> visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"})
        ['2', '3']
        >>> visible_gpus({"CUDA_VISIBLE_DEVICES": ""})
        []
    """
    if "CUDA_VISIBLE_DEVICES" in env:
        ids = [part.strip() for part in env["CUDA_VISIBLE_DEVICES"].split(",")]
        visible = []
        for gpu in ids:
            if not gpu or gpu.startswith("-"):  # CUDA stops at the first invalid id
                break
            visible.append(gpu)
        return visible
    nodes = [p.name for p in dev.glob("nvidia*") if re.fullmatch(r"nvidia[0-9]+", p.name)]
    return sorted((name.removeprefix("nvidia") for name in nodes), key=int)


def child_environments(jobs: int, uses_gpus: bool, gpus: list[str]) -> list[dict[str, str]]:
    """The environment each of `jobs` grading children adds to its own.

    Example:
        >>> [e["CUDA_VISIBLE_DEVICES"] for e in child_environments(3, True, ["0", "1"])]
        ['0', '1', '0']
        >>> child_environments(2, False, ["0"])
        [{'CUDA_VISIBLE_DEVICES': ''}, {'CUDA_VISIBLE_DEVICES': ''}]
    """
    jobs = max(1, jobs)
    if not uses_gpus or not gpus:
        return [{"CUDA_VISIBLE_DEVICES": ""} for _ in range(jobs)]
    envs = []
    for i in range(jobs):
        gpu = gpus[i % len(gpus)]
        sharing = sum(1 for j in range(jobs) if gpus[j % len(gpus)] == gpu) * PARTS_AT_ONCE
        envs.append({
            "CUDA_VISIBLE_DEVICES": gpu,
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            "XLA_PYTHON_CLIENT_MEM_FRACTION": f"{0.9 / sharing:.3f}",
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        })
    return envs


def run_devices(env: Mapping[str, str] = os.environ, dev: Path = Path("/dev")) -> list[Path]:
    """The device nodes a sandboxed GPU run may use: its visible GPUs' `/dev/nvidiaN` (all of
    them when `CUDA_VISIBLE_DEVICES` names GPUs by UUID) and the driver's control nodes; none
    when it sees no GPU or the machine has no NVIDIA device nodes."""
    gpus = visible_gpus(env, dev)
    if not gpus:
        return []
    numbered = sorted(p for p in dev.glob("nvidia*") if re.fullmatch(r"nvidia[0-9]+", p.name))
    if all(g.isdigit() for g in gpus):
        numbered = [p for p in numbered if p.name.removeprefix("nvidia") in gpus]
    control = [dev / name for name in CONTROL_NODES]
    caps = sorted((dev / "nvidia-caps").glob("*")) if (dev / "nvidia-caps").is_dir() else []
    found = [p for p in [*numbered, *control, *caps] if p.exists() and not p.is_dir()]
    return found if numbered else []
