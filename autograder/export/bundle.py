"""A self-contained copy of what the grader needs, for a platform that grades elsewhere.

The bundle is a folder laid out like this repository: `course.yaml`, the solutions folder (the
reference modules, the hidden checks and the calibrated thresholds), the `autograder` package
with `pyproject.toml` (so `pip install` works), and, when asked, the data and the ImageNet
weights. `BUNDLE.json` lists every file with its SHA-256, so an export can be compared with the
source it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import autograder
from autograder.context import CourseContext
from autograder.export.errors import ExportError

MANIFEST = "BUNDLE.json"
PACKAGE = "autograder"
PROJECT_FILES = ("pyproject.toml", "README.md")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
DATA_DIR = "data"
WEIGHTS_DIR = "weights"


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not SKIP_PARTS & set(path.parts) and path.suffix != ".pyc":
            yield path


def source_files(ctx: CourseContext) -> dict[str, Path]:
    """Bundle path -> source file, for everything the grader reads (data and weights excepted)."""
    root = ctx.locations.root
    package = Path(autograder.__file__).resolve().parent
    files = {"course.yaml": ctx.config_path}
    for name in PROJECT_FILES:
        if (root / name).is_file():
            files[name] = root / name
    for path in _files(ctx.solutions_dir):
        files[path.relative_to(root).as_posix()] = path
    for path in _files(package):
        files[f"{PACKAGE}/{path.relative_to(package).as_posix()}"] = path
    return files


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _data_files(ctx: CourseContext, profile: str) -> dict[str, Path]:
    """The dataset, the hidden split and the profile's weight file, under `data/` and `weights/`."""
    from autograder.data import locate_hidden_test  # noqa: PLC0415

    data_dir = ctx.locations.data_dir
    if data_dir is None and ctx.config.data is not None:
        raise FileNotFoundError("Expected a data folder to bundle (--data-dir or COURSE_DATA_DIR). Received: none")
    files = {}
    data = ctx.config.data
    folders = {} if data is None else {
        data.dataset: data_dir / data.dataset,
        data.hidden_test: locate_hidden_test(ctx.config, ctx.locations),
    }
    for name, folder in folders.items():
        for path in _files(folder):
            files[f"{DATA_DIR}/{name}/{path.relative_to(folder).as_posix()}"] = path
    weights = ctx.weights_file(ctx.profile(profile))
    if weights is not None:
        files[f"{WEIGHTS_DIR}/{weights.name}"] = weights
    return files


def _pin_lab(path: Path, lab: str) -> str:
    """Make the bundled `course.yaml` choose `lab` by default (a platform grades one lab)."""
    text = path.read_text(encoding="utf-8")
    text, count = re.subn(r"^(\s+default_lab:)[ \t]*[^#\n]*?([ \t]*#.*)?$", rf"\g<1> {lab}\g<2>", text, count=1, flags=re.M)
    if count != 1:
        text, count = re.subn(r"^course:[ \t]*\n", f"course:\n  default_lab: {lab}\n", text, count=1, flags=re.M)
    if count != 1:
        raise ExportError(f"{path}: expected a `course:` section to set default_lab in. Received: none")
    path.write_text(text, encoding="utf-8")
    return _digest(path)


def _point_at_bundled_data(path: Path) -> str:
    """Set `paths.data_dir` and `paths.weights_dir` to the bundled folders (relative to the bundle)."""
    text = path.read_text(encoding="utf-8")
    for key, value in (("data_dir", DATA_DIR), ("weights_dir", WEIGHTS_DIR)):
        text, count = re.subn(rf"^(\s+{key}:)[ \t]*[^#\n]*?([ \t]*#.*)?$", rf"\g<1> {value}\g<2>", text, count=1, flags=re.M)
        if count != 1:
            raise ExportError(f"{path}: expected a `paths.{key}` line to point at the bundled {value}/. Received: none")
    path.write_text(text, encoding="utf-8")
    return _digest(path)


def write_bundle(ctx: CourseContext, folder: Path, profile: str, with_data: bool = False) -> dict[str, str]:
    """Copy the grader's files (and, with `with_data`, the data and weights) into `folder`.

    Returns:
        Bundle path -> SHA-256 of every copied file (also written to `BUNDLE.json`).
    """
    folder = Path(folder)
    files = source_files(ctx)
    if with_data:
        files.update(_data_files(ctx, profile))
    digests = {}
    for name, path in sorted(files.items()):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        digests[name] = _digest(path)
    digests["course.yaml"] = _pin_lab(folder / "course.yaml", ctx.lab)
    if with_data:
        digests["course.yaml"] = _point_at_bundled_data(folder / "course.yaml")
    manifest = {"profile": profile, "with_data": with_data, "files": digests}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return digests
