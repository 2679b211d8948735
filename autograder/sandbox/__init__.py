"""The sandbox that runs untrusted student code: limits, isolation, and untrusted read-back.

Run one part of a submission with `run_sandboxed(command, workdir=..., readable=[...],
writable_out=..., hidden=[...], limits=Limits(...), env={...})`; it returns a `SandboxResult`
(outcome, exit code or signal, duration, bounded output, the isolation used). Read what the
code left in `writable_out` only with `read_json`, `read_npz` and `load_keras_model`, which
treat it as hostile data.

Isolation, strongest available first (`best_level()`; each run reports the one it used):
`bwrap` (bubblewrap), `namespaces` (unshare(2) as root) and `plain` (limits only, a student's
laptop; its report carries a warning that it is weak).
"""

from autograder.sandbox.artifacts import (
    UntrustedArtifactError,
    list_artifacts,
    load_keras_model,
    read_json,
    read_npz,
)
from autograder.sandbox.command import PythonEntry
from autograder.sandbox.isolation import available_levels, best_level, unavailable_reason
from autograder.sandbox.limits import GIB, KIB, MIB, Limits
from autograder.sandbox.result import CapturedOutput, IsolationLevel, IsolationReport, Outcome, SandboxResult
from autograder.sandbox.runner import run_sandboxed
from autograder.sandbox.view import gpu_devices

__all__ = [
    "GIB",
    "KIB",
    "MIB",
    "CapturedOutput",
    "IsolationLevel",
    "IsolationReport",
    "Limits",
    "Outcome",
    "PythonEntry",
    "SandboxResult",
    "UntrustedArtifactError",
    "available_levels",
    "best_level",
    "gpu_devices",
    "list_artifacts",
    "load_keras_model",
    "read_json",
    "read_npz",
    "run_sandboxed",
    "unavailable_reason",
]
