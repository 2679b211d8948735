"""The sandbox that runs untrusted student code: limits, isolation, and untrusted read-back.

Run one part of a submission with `run_sandboxed`; read what it left in its output folder
only through `autograder.sandbox.artifacts`.
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
