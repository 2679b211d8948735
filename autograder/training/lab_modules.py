"""Import a lab's four modules (trusted code only: the reference solution) from a folder."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from autograder.config import PART_NAMES


@dataclass(frozen=True)
class LabModules:
    """The four modules of one copy of the lab."""

    augmentation: ModuleType
    scratch: ModuleType
    feature_extraction: ModuleType
    fine_tuning: ModuleType


def import_module_from(path: Path, name: str) -> ModuleType:
    """Import one file as a module named `name` (its folder is not added to sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_lab_modules(folder: Path, prefix: str = "lab") -> LabModules:
    """Import `<folder>/<part>.py` for each part.

    Raises:
        FileNotFoundError: a module file is missing (the message names it).
    """
    folder = Path(folder)
    missing = [f"{part}.py" for part in PART_NAMES if not (folder / f"{part}.py").is_file()]
    if missing:
        raise FileNotFoundError(f"Expected the lab's modules in {folder}. Missing: {missing}")
    return LabModules(
        **{part: import_module_from(folder / f"{part}.py", f"{prefix}_{part}") for part in PART_NAMES}
    )
