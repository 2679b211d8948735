"""Deterministic zips of export folders, and a comparison of two exports for drift checks."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path

FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def zip_folder(folder: Path, target: Path) -> Path:
    """Zip the files under `folder` (paths relative to it), sorted, with fixed times and modes."""
    folder, target = Path(folder), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), FIXED_TIME)
            executable = os.access(path, os.X_OK)
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return target


def _digests(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file; a zip counts as the digests of its members."""
    out = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                for member in zf.infolist():
                    if not member.is_dir():
                        out[f"{name}!{member.filename}"] = hashlib.sha256(zf.read(member)).hexdigest()
        else:
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _under(name: str, roots: Sequence[str] | None) -> bool:
    path = name.split("!", 1)[0]
    return roots is None or any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def folder_drift(expected: Path, actual: Path, roots: Sequence[str] | None = None) -> list[str]:
    """How `actual` differs from a freshly generated `expected` export (empty: identical).

    Only files under `roots` (paths relative to the folders; default: everything) are compared,
    so what a platform adds to the folder later (nbgrader's `release/`, `gradebook.db`) is not drift.
    """
    want = {n: d for n, d in _digests(expected).items() if _under(n, roots)}
    have = {n: d for n, d in _digests(actual).items() if _under(n, roots)}
    problems = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            problems.append(f"{name}: missing from {actual} (export again)")
        elif name not in want:
            problems.append(f"{name}: in {actual} but no longer generated from the source")
        elif want[name] != have[name]:
            problems.append(f"{name}: differs from what the source generates now")
    return problems
