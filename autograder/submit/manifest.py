"""The submission zip `course submit` writes: the student's files and `manifest.json`.

The manifest records what was handed in and with what: each file's SHA-256 and size, the
static status of every graded function, the public checks' score when they ran, and the versions
of Python, this package and the libraries that matter for grading. `course grade` reads only
the modules (or the notebook); the manifest is for people (a TA comparing a regrade request
with what was submitted).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import platform
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1
VERSIONED = ("transfer-learning-course", "keras", "tensorflow", "tensorflow-cpu", "numpy", "scikit-learn")


def versions() -> dict[str, str]:
    """Python and the installed versions of the packages grading depends on."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def file_entry(path: Path) -> dict[str, Any]:
    data = Path(path).read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def build_manifest(lab: str, kind: str, files: Mapping[str, Path], functions: Mapping[str, Any], checks: Any) -> dict:
    """The manifest's content (see the module docstring)."""
    return {
        "format": FORMAT,
        "lab": lab,
        "kind": kind,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {name: file_entry(path) for name, path in sorted(files.items())},
        "functions": dict(functions),
        "public_checks": checks,
        "versions": versions(),
    }


def write_zip(target: Path, files: Mapping[str, Path], manifest: dict) -> Path:
    """Write the files (at the zip's top level) and the manifest to `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(files.items()):
            zf.write(path, name)
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    partial.replace(target)
    return target


def verify_zip(archive: Path) -> list[str]:
    """Files of a submission zip whose content no longer matches its manifest (empty: all match)."""
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read(MANIFEST))
        problems = []
        for name, entry in manifest["files"].items():
            try:
                data = zf.read(name)
            except KeyError:
                problems.append(f"{name}: listed in the manifest but not in the zip")
                continue
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                problems.append(f"{name}: its content differs from the manifest's hash")
    return problems
