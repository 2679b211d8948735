"""Worker-side helpers: the grader's own base, training probes and descriptions saved as data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from autograder.checks.callbacks import describe_callbacks
from autograder.checks.compile_settings import describe_compile
from autograder.checks.training_probe import ProbedVariable, TrainingProbe, run_training_probe

__all__ = ["describe_callbacks", "load_probe", "reference_base", "save_probe", "training_probe"]


def reference_base(settings: dict):
    """The pretrained base built by the grader's code (never the student's), frozen."""
    import keras  # noqa: PLC0415

    size = settings["base_size"]
    factory = getattr(keras.applications, settings["architecture"])
    base = factory(input_shape=(size, size, 3), alpha=settings["alpha"], include_top=False, weights=settings["weights_file"])
    base.trainable = False
    return base


def save_probe(probe: TrainingProbe, path: Path, compile_description: dict | None = None) -> None:
    """Write a `TrainingProbe` (and the model's compile settings) as an `.npz` without pickles."""
    meta = {
        "steps": probe.steps,
        "error": probe.error,
        "variables": [[v.key, v.layer, v.kind, v.role] for v in probe.variables],
        "compile": compile_description,
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for i, variable in enumerate(probe.variables):
        arrays[f"before_{i}"] = variable.before
        arrays[f"after_{i}"] = variable.after
    np.savez(path, **arrays)


def load_probe(path: Path) -> tuple[TrainingProbe, dict | None]:
    """Read back what `save_probe` wrote (grader side; no pickles are ever loaded)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        variables = tuple(
            ProbedVariable(key, layer, kind, role, data[f"before_{i}"], data[f"after_{i}"])
            for i, (key, layer, kind, role) in enumerate(meta["variables"])
        )
    return TrainingProbe(variables, int(meta["steps"]), meta["error"]), meta.get("compile")


def training_probe(model, images: np.ndarray, labels: np.ndarray, path: Path) -> None:
    """Train `model` as compiled for two steps, record what moved and its compile settings."""
    probe = run_training_probe(model, images, labels, steps=2)
    save_probe(probe, path, describe_compile(model))
