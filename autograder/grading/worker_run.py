"""Run one part of one submission in the sandbox and read back its report, as data."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder.grading.inputs import GradingInputs
from autograder.grading.result import SandboxSummary
from autograder.probes.protocol import REPORT, REQUEST, ProbeRequest
from autograder.grading.gpus import SHARING, run_devices
from autograder.sandbox import GIB, Limits, PythonEntry, UntrustedArtifactError, read_json, run_sandboxed

PACKAGE_DIR = Path(autograder.__file__).resolve().parent


@dataclass
class PartRun:
    """One part's worker run: its report (probe name -> outcome dict) and its output folder."""

    part: str
    out: Path
    outcomes: dict[str, dict]
    sandbox: SandboxSummary
    stopped_in: str | None = None

    def error_for(self, probe: str) -> str | None:
        """Why `probe` has no artifacts (None when it succeeded)."""
        outcome = self.outcomes.get(probe)
        if outcome is not None:
            return None if outcome.get("ok") else str(outcome.get("error") or "failed")
        where = f" while running {self.stopped_in}" if self.stopped_in else ""
        return (
            f"The {self.part} worker stopped{where} before `{probe}` ran "
            f"({self.sandbox.outcome}: {self.sandbox.message})"
        )


def skipped_run(part: str, problem: str, work: Path, probes: tuple[str, ...]) -> PartRun:
    """The run of a part whose module was not run (see `grading/static.py`): each probe failed with `problem`."""
    out = Path(work) / f"skipped-{part}"
    out.mkdir(parents=True, exist_ok=True)
    outcomes = {probe: {"name": probe, "ok": False, "error": problem} for probe in probes}
    return PartRun(part, out, outcomes, SandboxSummary("skipped", 0.0, "none", problem), None)


def worker_env(inputs: GradingInputs, weights: bool = True) -> dict[str, str]:
    """The worker's environment; KERAS_HOME points at the weights only when the part may read them."""
    env = {
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
    }
    if weights:
        env["KERAS_HOME"] = str(inputs.keras_home)
    for name in ("TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", *SHARING):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def run_part(
    part: str,
    submission: Path,
    module_name: str,
    inputs: GradingInputs,
    work_root: Path,
    hidden: list[Path],
    limits: Limits,
    isolation_level: str | None = None,
    probes: tuple[str, ...] | None = None,
    inputs_dir: Path | None = None,
) -> PartRun:
    """Copy the submission's Python files into a private folder, run the part's probes there.

    `probes` names the part's probes to run (None: all of them); `inputs_dir` replaces the part's
    shared inputs folder (e.g. features of the student's own base).
    Never raises for anything the submission does: a crash, timeout or memory blow-up comes
    back as the `SandboxSummary` of a `PartRun` with whatever probes had finished.
    """
    run_dir = Path(tempfile.mkdtemp(prefix=f"{part}-", dir=work_root))
    code = run_dir / "submission"
    code.mkdir()
    for path in sorted(Path(submission).glob("*.py")):
        if path.is_file() and not path.is_symlink():
            shutil.copyfile(path, code / path.name)
    out = run_dir / "out"
    out.mkdir()
    module = code / module_name
    readable_inputs = Path(inputs_dir) if inputs_dir is not None else inputs.worker_for(part)
    request = ProbeRequest(
        part, str(module), str(readable_inputs), str(out), inputs.settings, None if probes is None else list(probes),
        str(inputs.probes_file),
    )
    request_dir = run_dir / "request"
    request_dir.mkdir()
    request.write(request_dir / REQUEST)
    for folder in (run_dir, code, request_dir, out):
        folder.chmod(0o755)
    for path in (*code.iterdir(), request_dir / REQUEST):
        path.chmod(0o644)
    # Only the lab's WEIGHTS_PARTS see the pretrained weights (a model the lab trains from
    # scratch must not be able to load them).
    with_weights = part in inputs.weights_parts
    weights = [inputs.keras_home, Path(inputs.settings["weights_file"]).resolve().parent] if with_weights else []
    result = run_sandboxed(
        PythonEntry(module="autograder.probes.worker", args=(str(request_dir / REQUEST),)),
        workdir=code,
        readable=[PACKAGE_DIR, request_dir, readable_inputs, inputs.probes_dir, *weights],
        writable_out=out,
        hidden=hidden,
        limits=limits,
        env=worker_env(inputs, with_weights),
        isolation_level=isolation_level,
        devices=run_devices() if inputs.profile.gpus else (),  # a GPU run sees its GPU; a CPU run none
    )
    tail = (result.stderr.text or "")[-6000:]
    summary = SandboxSummary(
        result.outcome.value, round(result.duration_s, 2), result.isolation.level.value, result.message, tail,
        getattr(result.isolation, "limits", ""),
    )
    outcomes: dict[str, dict] = {}
    stopped_in = None
    try:
        report = read_json(out, REPORT, max_bytes=4 * 1024 * 1024)
        for item in report.get("outcomes", []):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                outcomes[item["name"]] = item
        stopped_in = report.get("running") if isinstance(report.get("running"), str) else None
    except (UntrustedArtifactError, AttributeError, TypeError):
        stopped_in = None
    return PartRun(part, out, outcomes, summary, stopped_in)


def default_limits(seconds: float, memory_gb: float) -> Limits:
    return Limits(wall_time_s=seconds, memory_bytes=int(memory_gb * GIB), max_out_dir_bytes=2 * GIB)
