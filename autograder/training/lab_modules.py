"""Import a lab's modules (trusted code only: the reference solution) from a folder."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType


class LabModules:
    """The graded modules of one copy of a lab, by module name (`lab.models` is `models.py`)."""

    def __init__(self, modules: Mapping[str, ModuleType]) -> None:
        self._modules = dict(modules)

    def __getattr__(self, name: str) -> ModuleType:
        try:
            return self.__dict__["_modules"][name]
        except KeyError:
            raise AttributeError(f"The lab has no module {name}.py (modules: {sorted(self.__dict__['_modules'])})") from None

    def __getitem__(self, name: str) -> ModuleType:
        return self._modules[name]

    def __iter__(self):
        return iter(self._modules)


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


def module_files(parts: Mapping[str, object] | Iterable[str]) -> list[str]:
    """The module files of a course's parts (`config.parts`), or the files given as they are."""
    if isinstance(parts, Mapping):
        return [getattr(settings, "module", settings) for settings in parts.values()]
    return list(parts)


def load_lab_modules(folder: Path, parts, prefix: str = "lab") -> LabModules:
    """Import `<folder>/<module>` for each part's module (`parts`: `config.parts` or file names).

    Raises:
        FileNotFoundError: a module file is missing (the message names it).
    """
    folder = Path(folder)
    files = module_files(parts)
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"Expected the lab's modules in {folder}. Missing: {missing}")
    return LabModules({Path(name).stem: import_module_from(folder / name, f"{prefix}_{Path(name).stem}") for name in files})
