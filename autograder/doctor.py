"""`course doctor`: what this machine offers the course, one line per item, and what is missing.

For a student before `course check`, a TA before a batch, an instructor setting up a GPU box:
the versions, the Keras backend and the devices it sees (GPUs included), the sandbox levels
available, and whether the lab's data, hidden split and weights are found where the flags,
the environment and `course.yaml` say. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `course --version` imports this module and must stay quick
    from autograder.context import CourseContext


def versions() -> str:
    """This package's version and those grading depends on, read without importing them."""

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    parts = [f"course {version('transfer-learning-course') or 'unknown'}", f"Python {platform.python_version()}"]
    for label, names in (("Keras", ("keras",)), ("TensorFlow", ("tensorflow", "tensorflow-cpu")), ("JAX", ("jax",)), ("PyTorch", ("torch",))):
        found = next((v for v in map(version, names) if v), None)
        if found:
            parts.append(f"{label} {found}")
    parts.append(f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND', 'tensorflow')}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str


def backend_devices() -> tuple[str, list[str]]:
    """The Keras backend and the devices it computes on (e.g. `['CPU:0', 'GPU:0 (NVIDIA H200)']`)."""
    import keras  # noqa: PLC0415

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415

        devices = []
        for device in tf.config.list_physical_devices():
            name = f"{device.device_type}:{device.name.rsplit(':', 1)[-1]}"
            if device.device_type == "GPU":
                details = tf.config.experimental.get_device_details(device)
                name += f" ({details.get('device_name', 'GPU')})"
            devices.append(name)
        return backend, devices
    if backend == "jax":
        import jax  # noqa: PLC0415

        return backend, [f"{d.platform.upper()}:{d.id} ({d.device_kind})" for d in jax.devices()]
    if backend == "torch":
        import torch  # noqa: PLC0415

        gpus = [f"GPU:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
        return backend, ["CPU:0", *gpus]
    return backend, []


def findings(ctx: CourseContext, profile: str | None = None) -> list[Finding]:
    """Everything `course doctor` checks, in the order it prints them."""
    from autograder.data import DataNotFoundError, locate_hidden_test  # noqa: PLC0415
    from autograder.sandbox.isolation import IsolationLevel, unavailable_reason  # noqa: PLC0415

    out = [Finding("versions", True, versions())]
    backend, devices = backend_devices()
    gpus = [d for d in devices if d.startswith("GPU")]
    out.append(Finding(f"Keras backend {backend}", True, ", ".join(devices) or "no device listed"))
    out.append(Finding("GPU", bool(gpus), ", ".join(gpus) if gpus else "none seen: training runs on the CPU"))
    for level in IsolationLevel:
        reason = unavailable_reason(level)
        out.append(Finding(f"sandbox level {level.value}", reason is None, reason or "available"))
    chosen = ctx.profile(profile)
    out.append(Finding("course", True, f"{ctx.config_path} (lab {ctx.lab}, profile {profile or ctx.config.default_profile})"))
    out.append(Finding("solutions", ctx.has_solutions and ctx.solutions_dir.is_dir(),
                       str(ctx.solutions_dir) if ctx.has_solutions else "none: a student course file (checks and hand-ins only)"))
    try:
        weights = ctx.weights_file(chosen)
        out.append(Finding("weights", True, str(weights) if weights else "the lab needs none"))
    except Exception as exc:  # noqa: BLE001  (missing or unreadable weights: the finding says which)
        out.append(Finding("weights", False, str(exc).splitlines()[0]))
    if ctx.config.data is not None:
        data = ctx.locations.data_dir
        dataset = data / ctx.config.data.dataset if data else None
        out.append(Finding("data", bool(dataset and dataset.is_dir()),
                           str(dataset) if dataset and dataset.is_dir() else "not in a configured folder (the notebook downloads it)"))
        if ctx.has_solutions:
            try:
                out.append(Finding("hidden test split", True, str(locate_hidden_test(ctx.config, ctx.locations))))
            except DataNotFoundError as exc:
                out.append(Finding("hidden test split", False, str(exc).splitlines()[0]))
    out.append(Finding("cache", True, str(ctx.locations.cache_dir)))
    out.append(Finding("KERAS_BACKEND", True, os.environ.get("KERAS_BACKEND", "tensorflow (default)")))
    return out
