"""The check library: small functions of trusted data that return `CheckResult`s.

One module per kind of check; every module works on what the grader holds (Keras models it
loaded, numpy arrays, plain dicts) and never imports student code:

- `result`: `CheckResult`, the `passed` / `failed` / `partial` helpers, and `because` (a failure
  that follows from another function's mistake names it).
- `registry`: the `@check(part=..., points=..., visibility=...)` decorator and `run_check`.
- `trainability`: trainable flags and splits per layer; `training_probe`: what training moves.
- `parameters`: exact parameter counts at several input sizes.
- `architecture`: normalized layer signatures compared with the reference.
- `compile_settings`: loss, optimizer, learning rate, metrics, and compiled-again detection.
- `callbacks`: EarlyStopping settings from plain callback descriptions.
- `augmentation`: the augmentation block by behaviour (flips, shifts, zoom, identity).
- `tta`: the ten crops and the prediction averaged over them.
- `accuracy`: credit for a measured accuracy against a calibrated threshold.
"""

from autograder.checks.registry import CheckMeta, check, check_meta, run_check
from autograder.checks.result import (
    VISIBILITIES,
    CheckFailure,
    because,
    CheckResult,
    expected_received,
    failed,
    partial,
    passed,
)

__all__ = [
    "VISIBILITIES",
    "CheckFailure",
    "CheckMeta",
    "CheckResult",
    "because",
    "check",
    "check_meta",
    "expected_received",
    "failed",
    "partial",
    "passed",
    "run_check",
]
