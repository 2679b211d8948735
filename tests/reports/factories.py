"""Hand-built `SubmissionResult` objects for the report tests (no Keras, no training)."""

from __future__ import annotations

from autograder.checks.result import CheckResult
from autograder.grading.result import PartResult, SandboxSummary, SubmissionResult, TrainingCurve

HIDDEN_MESSAGE = "Expected hidden-test accuracy >= 0.9. Received: accuracy=0.62 (secret threshold)"


def make_result(submission: str = "alice", *, scratch_score: float = 1.0, crashed: bool = False) -> SubmissionResult:
    """A two-part result: augmentation (passed, failed, hidden partial) and scratch (one check).

    `scratch_score` sets the scratch check's score (of 2); `crashed` makes its worker time out.
    """
    augmentation = PartResult(
        "augmentation",
        "Data augmentation",
        3.0,
        [
            CheckResult("flips are horizontal only", 1.0, 1.0, 1.0, "visible", "", "augmentation"),
            CheckResult(
                "identity at inference",
                1.0,
                0.0,
                1.0,
                "visible",
                "Expected the block to return its input at inference. Received: max_difference=0.3 in layer 'zoom'",
                "augmentation",
            ),
            CheckResult("augmented accuracy", 1.0, 0.5, 1.0, "hidden", HIDDEN_MESSAGE, "augmentation"),
        ],
        SandboxSummary("ok", 3.2, "bwrap"),
    )
    scratch_sandbox = (
        SandboxSummary("timeout", 120.0, "bwrap", "Expected the worker to finish within 120 s. Received: seconds=120.0")
        if crashed
        else SandboxSummary("ok", 10.0, "bwrap")
    )
    scratch = PartResult(
        "scratch",
        "Training from scratch",
        2.0,
        [
            CheckResult(
                "parameter count",
                2.0,
                scratch_score,
                2.0,
                "visible",
                "" if scratch_score == 2.0 else "Expected 3,453,121 parameters. Received: total=3,453,122",
                "scratch",
            )
        ],
        scratch_sandbox,
    )
    curves = [
        TrainingCurve(
            "scratch",
            0.75,
            {
                "loss": [0.69, 0.6, 0.5],
                "accuracy": [0.5, 0.66, 0.75],
                "val_loss": [0.68, 0.62, 0.58],
                "val_accuracy": [0.52, 0.64, 0.7],
            },
            [0, 0, 1, 1, 1],
            [0.1, 0.7, 0.8, 0.4, 0.9],
        ),
        TrainingCurve("frozen base", 0.9, {"loss": [0.4, 0.3], "accuracy": [0.8, 0.9]}),
    ]
    return SubmissionResult(
        submission=submission,
        content_hash=f"sha256:{submission}-0123456789abcdef",
        profile="smoke",
        settings_digest="digest-1",
        parts=[augmentation, scratch],
        curves=curves,
        execution_time=42.25,
        notes=["Graded with the smoke profile."],
    )
