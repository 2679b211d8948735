"""Find the submissions behind the paths a TA gives: a folder, a `.zip`, or a folder of either."""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder.notebook_submission import module_folder

MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_ZIP_FILES = 200


class SubmissionError(ValueError):
    """A path that is not a gradable submission (the message names it and says why)."""


@dataclass(frozen=True)
class Submission:
    """One student's work: a display name and the folder holding their modules."""

    name: str
    folder: Path
    source: Path


def _is_submission_folder(folder: Path, modules: tuple[str, ...]) -> bool:
    return any((folder / name).is_file() for name in (*modules, "lab.ipynb"))


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract a submission zip, refusing absolute paths, `..`, links and oversized content.

    Returns the folder that holds the modules (the archive's single top folder, if it has one).
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_FILES:
                raise SubmissionError(f"{archive}: expected at most {MAX_ZIP_FILES} files. Received: {len(members)}")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise SubmissionError(f"{archive}: expected at most {MAX_ZIP_BYTES // 2**20} MiB unpacked")
            for member in members:
                path = PurePosixPath(member.filename)
                mode = member.external_attr >> 16
                if path.is_absolute() or ".." in path.parts or stat.S_ISLNK(mode):
                    raise SubmissionError(f"{archive}: unsafe entry {member.filename!r} (absolute, '..' or a link)")
                if member.is_dir() or path.name.startswith("._") or "__MACOSX" in path.parts:
                    continue
                destination = target.joinpath(*path.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink)
    except zipfile.BadZipFile:
        raise SubmissionError(f"{archive}: not a readable zip file") from None
    entries = [p for p in target.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return target


def require_existing(paths: list[Path]) -> None:
    """Raise SubmissionError for the first path that does not exist (before any slow work)."""
    for path in paths:
        if not Path(path).exists():
            raise SubmissionError(f"Expected a submission folder or .zip. Received: {path} (no such file)")


def discover(paths: list[Path], modules: tuple[str, ...], scratch: Path) -> list[Submission]:
    """Expand the given paths into submissions, in a stable order.

    A folder holding any graded module (or `lab.ipynb`) is one submission; any other folder is
    a batch whose sub-folders and zips are submissions. Zips are extracted under `scratch`.

    Raises:
        SubmissionError: a path that does not exist or holds no submission.
    """
    require_existing(paths)
    found: list[Submission] = []
    for path in paths:
        path = Path(path)
        if path.is_file():
            if path.suffix.lower() != ".zip":
                raise SubmissionError(f"Expected a folder or a .zip. Received: {path}")
            folder = safe_extract(path, scratch / path.stem)
            found.append(Submission(path.stem, module_folder(folder, modules, scratch / ".notebooks" / path.stem), path))
        elif _is_submission_folder(path, modules):
            found.append(Submission(path.name, module_folder(path, modules, scratch / ".notebooks" / path.name), path))
        else:
            children = sorted(p for p in path.iterdir() if p.is_dir() or p.suffix.lower() == ".zip")
            batch = [c for c in children if c.suffix.lower() == ".zip" or _is_submission_folder(c, modules)]
            if not batch:
                raise SubmissionError(
                    f"{path} holds no submission: expected {', '.join(modules)} in it or in its sub-folders or zips"
                )
            found += discover(batch, modules, scratch)
    names = [s.name for s in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SubmissionError(f"Two submissions share a name: {duplicates}; rename one of them")
    return found
