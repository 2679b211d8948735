"""The GPU installs resolve (issue #13): `pip install -e ".[gpu]"` and `".[torch]"`, checked with
pip's own resolver against the package registry (`--dry-run`: metadata only, nothing installed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("extra", "needed"),
    [
        ("gpu", {"jax-cuda12-plugin", "jax-cuda12-pjrt", "nvidia-cudnn-cu12"}),  # JAX with CUDA 12
        ("torch", {"torch"}),
    ],
)
def test_the_gpu_extras_resolve(extra, needed, tmp_path):
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report), "-e", f"{REPO}[{extra}]"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    # what this venv already has is not in the report: take it from the installed distributions
    from importlib.metadata import distributions

    present = {d.metadata["Name"].lower() for d in distributions()}
    assert needed <= names | present, f"missing from the [{extra}] install: {sorted(needed - names - present)}"
