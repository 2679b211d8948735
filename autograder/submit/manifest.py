"""The submission zip `course submit` writes: the student's files and `manifest.json`.

The manifest records what was handed in and with what: the student id given to `course submit
--student`, each file's SHA-256 and size, the static status of every graded function, the public
checks' score when they ran, and the versions of Python, this package and the libraries that
matter for grading. `course grade` grades only the modules (or the notebook) and checks the
manifest against them (`check_folder`): a file changed after submitting is flagged in the
gradebook, not refused. Everything in a manifest was written by the student, so it is read as
data, bounded, and never trusted for anything but that flag (and the student id when the way the
hand-ins were collected gives none).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import platform
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from autograder.sandbox.artifacts import read_regular

MANIFEST = "manifest.json"
FORMAT = 1
MAX_MANIFEST_BYTES = 1024 * 1024
# A student id: what `course submit --student` accepts and the gradebook's `student` column holds.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
STUDENT_ID_RULE = "letters, digits, '.', '_', '-', '@' or '+' (1 to 64, starting with a letter or digit)"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
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


def build_manifest(
    lab: str, kind: str, files: Mapping[str, Path], functions: Mapping[str, Any], checks: Any, student: str | None = None
) -> dict:
    """The manifest's content (see the module docstring)."""
    return {
        "format": FORMAT,
        "lab": lab,
        "student": student,
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


def check_folder(folder: Path, graded: Iterable[str]) -> tuple[str | None, str]:
    """The student id a submission's manifest gives, and whether its files match it.

    Returns:
        (student, status): `student` is the manifest's id when it is a valid one, else None;
        `status` is "" when there is no manifest, "verified" when every listed file and every
        graded file present matches, else "mismatch: ..." or "unreadable: ..." naming the cause.
    """
    folder = Path(folder)
    raw = read_regular(folder / MANIFEST, MAX_MANIFEST_BYTES)
    if raw is None:
        return None, ""
    try:
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ValueError(f"more than {MAX_MANIFEST_BYTES} bytes")
        manifest = json.loads(raw)
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("its files are not a mapping")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return None, f"unreadable: {MANIFEST} is not a manifest ({type(exc).__name__})"
    student = manifest.get("student")
    student = student if isinstance(student, str) and STUDENT_ID.match(student) else None
    problems = []
    for name, entry in sorted(files.items())[:200]:
        if not isinstance(name, str) or not _PLAIN_NAME.match(name):
            problems.append(f"{str(name)[:40]!r}: not a plain file name")
            continue
        data = read_regular(folder / name, 64 * 1024 * 1024)
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if data is None:
            problems.append(f"{name}: missing")
        elif hashlib.sha256(data).hexdigest() != expected:
            problems.append(f"{name}: changed since it was submitted")
    for name in graded:
        if name not in files and (folder / name).is_file():
            problems.append(f"{name}: not in the manifest")
    return student, ("mismatch: " + "; ".join(problems) if problems else "verified")
