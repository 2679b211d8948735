"""Find the submissions behind the paths a TA gives: a folder, a `.zip`, or a folder of either.

Every submission is copied (a folder) or extracted (a zip) into a private scratch folder, and
graded from there: the grader never follows a link a student made, never reads a special file,
and never uses a student's file name in a path unless it is a safe slug. One bad entry never
stops a batch: `discover` turns it into a `Submission` with a `problem` (the message for the TA,
naming the file and the cause), which the batch records as that submission's failed row.
Only a path the TA gave that does not exist, or a folder that holds no submission at all, is an
error for the whole batch (`SubmissionError`).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder.notebook_submission import NotebookSubmissionError, module_folder

MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_ZIP_FILES = 200
# File and folder names the grader uses in paths (the output folder, the scratch copy).
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RESERVED = frozenset({"gradebook.csv"})  # the batch's own files in the output folder
# Left out of a folder submission's copy: editor, OS and Python leftovers, never graded.
SKIPPED = frozenset({"__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git", ".DS_Store"})
_COPY = 1024 * 1024


class SubmissionError(ValueError):
    """A path that is not a gradable submission (the message names it and says why)."""


@dataclass(frozen=True)
class Submission:
    """One student's work: a display name, the folder holding their modules, and any problem.

    Attributes:
        name: a safe slug, used for the output folder and the gradebook row.
        folder: the grader's private copy of the modules (meaningless when `problem` is set).
        source: the folder or zip the TA gave.
        problem: why it cannot be graded ("" when it can), naming the file and the cause.
    """

    name: str
    folder: Path
    source: Path
    problem: str = ""


def safe_name(raw: str) -> str:
    """`raw` if it is a safe slug, else a slug made from it plus a hash of it (never `.` or `..`)."""
    if SAFE_NAME.match(raw) and raw.lower() not in RESERVED:
        return raw
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).lstrip("._-")[:60] or "submission"
    digest = hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{cleaned}-{digest}"


def _is_submission_folder(folder: Path, modules: tuple[str, ...]) -> bool:
    # lexists: a link named like a module still marks a submission (which is then refused).
    return not folder.is_symlink() and any(os.path.lexists(folder / name) for name in (*modules, "lab.ipynb"))


def _copy_stream(source, sink_fd: int, limit: int, what: str) -> int:
    written = 0
    while True:
        chunk = source.read(_COPY)
        if not chunk:
            return written
        written += len(chunk)
        if written > limit:
            raise SubmissionError(f"{what}: expected at most {MAX_ZIP_BYTES // 2**20} MiB unpacked. Received: more")
        os.write(sink_fd, chunk)


def _new_file(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract a submission zip into `target`, refusing anything that is not plain files and folders.

    Refused: absolute paths, `..`, links and special files, an entry that is both a file and a
    folder (`scratch.py` and `scratch.py/evil.py`), an entry given twice, more than
    `MAX_ZIP_FILES` entries or `MAX_ZIP_BYTES` unpacked. Files are created new (never through
    an existing path), so nothing lands outside `target`.

    Returns:
        The folder that holds the modules (the archive's single top folder, if it has one).

    Raises:
        SubmissionError: the zip is unreadable or unsafe; the message names it and the entry.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_FILES:
                raise SubmissionError(f"{archive}: expected at most {MAX_ZIP_FILES} files. Received: {len(members)}")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise SubmissionError(f"{archive}: expected at most {MAX_ZIP_BYTES // 2**20} MiB unpacked")
            kept, folders = [], set()
            for member in members:
                path = PurePosixPath(member.filename)
                mode = member.external_attr >> 16
                kind = stat.S_IFMT(mode)
                if (
                    path.is_absolute() or ".." in path.parts or "\0" in member.filename
                    or kind not in (0, stat.S_IFREG, stat.S_IFDIR)
                ):
                    raise SubmissionError(
                        f"{archive}: expected plain files and folders. Received: unsafe entry {member.filename!r} "
                        "(absolute, '..', a link or a special file)"
                    )
                parts = tuple(p for p in path.parts if p not in ("", "."))
                if not parts:
                    continue
                folders.update(parts[:i] for i in range(1, len(parts) if not member.is_dir() else len(parts) + 1))
                if member.is_dir() or parts[-1].startswith("._") or "__MACOSX" in parts:
                    continue
                kept.append((member, parts))
            files = {parts for _, parts in kept}
            clash = sorted("/".join(p) for p in files & folders)
            if clash:
                raise SubmissionError(
                    f"{archive}: expected each entry to be a file or a folder. Received: unsafe entry {clash[0]!r} "
                    "(both a file and a folder)"
                )
            target.mkdir(parents=True, exist_ok=False)
            budget = MAX_ZIP_BYTES
            for member, parts in kept:
                destination = target.joinpath(*parts)
                for depth in range(1, len(parts)):
                    folder = target.joinpath(*parts[:depth])
                    if not folder.is_dir() or folder.is_symlink():
                        folder.mkdir(mode=0o755)
                try:
                    fd = _new_file(destination)
                except FileExistsError:
                    raise SubmissionError(
                        f"{archive}: expected each entry once. Received: unsafe entry {member.filename!r} (given twice)"
                    ) from None
                try:
                    with zf.open(member) as source:
                        budget -= _copy_stream(source, fd, budget, str(archive))
                finally:
                    os.close(fd)
    except zipfile.BadZipFile:
        raise SubmissionError(f"{archive}: expected a readable zip file. Received: not a readable zip file") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        # RuntimeError: an encrypted entry; NotImplementedError: an unknown compression.
        raise SubmissionError(f"{archive}: expected a readable zip file. Received: {type(exc).__name__}: {exc}") from None
    entries = list(target.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return target


def copy_folder(source: Path, target: Path) -> Path:
    """Copy a folder submission into `target`: plain files and folders only, no link followed.

    Raises:
        SubmissionError: the folder holds a link or a special file (named), or is too large.
    """
    budget = {"files": MAX_ZIP_FILES, "bytes": MAX_ZIP_BYTES}
    flags = os.O_RDONLY | os.O_NOFOLLOW
    try:
        top = os.open(source, flags | os.O_DIRECTORY)
    except OSError as exc:
        raise SubmissionError(f"{source}: expected a readable folder. Received: {type(exc).__name__}: {exc.strerror}") from None
    try:
        target.mkdir(parents=True, exist_ok=False)
        _copy_tree(top, source, target, budget, flags)
    finally:
        os.close(top)
    return target


def _copy_tree(dir_fd: int, where: Path, target: Path, budget: dict, flags: int) -> None:
    for name in sorted(os.listdir(dir_fd)):
        if name in SKIPPED or name.startswith("._"):
            continue
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        shown = where / name
        if stat.S_ISLNK(info.st_mode):
            raise SubmissionError(f"{shown}: expected a plain file or folder. Received: a link (links are refused)")
        budget["files"] -= 1
        if budget["files"] < 0:
            raise SubmissionError(f"{where}: expected at most {MAX_ZIP_FILES} files. Received: more")
        if stat.S_ISDIR(info.st_mode):
            child = os.open(name, flags | os.O_DIRECTORY, dir_fd=dir_fd)
            try:
                (target / name).mkdir(mode=0o755)
                _copy_tree(child, shown, target / name, budget, flags)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            fd = os.open(name, flags, dir_fd=dir_fd)
            try:
                sink = _new_file(target / name)
                try:
                    with os.fdopen(os.dup(fd), "rb") as stream:
                        budget["bytes"] -= _copy_stream(stream, sink, budget["bytes"], str(where))
                finally:
                    os.close(sink)
            finally:
                os.close(fd)
        else:
            raise SubmissionError(f"{shown}: expected a plain file or folder. Received: a special file (fifo, socket or device)")


def require_existing(paths: list[Path]) -> None:
    """Raise SubmissionError for the first path that does not exist (before any slow work)."""
    for path in paths:
        if not os.path.lexists(path):
            raise SubmissionError(f"Expected a submission folder or .zip. Received: {path} (no such file)")


def _entries(paths: list[Path], modules: tuple[str, ...]) -> list[tuple[Path, str]]:
    """(path, kind) of each submission: kind is "zip", "folder" or "link"; raises for TA mistakes."""
    found: list[tuple[Path, str]] = []
    for path in map(Path, paths):
        if path.is_symlink():  # a path the TA gave: followed (links inside a batch are refused)
            path = path.resolve()
        if path.is_file():
            if path.suffix.lower() != ".zip":
                raise SubmissionError(f"Expected a folder or a .zip. Received: {path}")
            found.append((path, "zip"))
        elif _is_submission_folder(path, modules):
            found.append((path, "folder"))
        else:
            children = sorted(path.iterdir())
            batch = []
            for child in children:
                if child.is_symlink() and (child.suffix.lower() == ".zip" or child.is_dir()):
                    batch.append((child, "link"))
                elif child.is_symlink():
                    continue
                elif child.suffix.lower() == ".zip" and child.is_file():
                    batch.append((child, "zip"))
                elif child.is_dir() and _is_submission_folder(child, modules):
                    batch.append((child, "folder"))
            if not batch:
                raise SubmissionError(
                    f"{path} holds no submission: expected {', '.join(modules)} in it or in its sub-folders or zips"
                )
            found += batch
    return found


def _prepare(path: Path, kind: str, name: str, modules: tuple[str, ...], scratch: Path) -> Path:
    """The grader's private folder of modules for one submission; raises with the TA's message."""
    raw = path.stem if kind == "zip" else path.name
    if kind == "link":
        raise SubmissionError(f"{path}: expected a folder or a .zip. Received: a link (links are refused)")
    if name != raw:
        raise SubmissionError(
            f"{path}: expected a name of letters, digits, '.', '_' or '-' (not starting with '.'). "
            f"Received: {raw[:80]!r}; rename it"
        )
    copy = scratch / "submissions" / name
    folder = safe_extract(path, copy) if kind == "zip" else copy_folder(path, copy)
    try:
        return module_folder(folder, modules, scratch / ".notebooks" / name)
    except NotebookSubmissionError as exc:  # name the TA's file, not the grader's copy
        raise SubmissionError(str(exc).replace(str(copy), str(path))) from None
    except (RecursionError, MemoryError):
        raise SubmissionError(f"{path}: expected a notebook the grader can read. Received: nesting too deep") from None


def discover(paths: list[Path], modules: tuple[str, ...], scratch: Path) -> list[Submission]:
    """Expand the given paths into submissions, in a stable order.

    A folder holding any graded module (or `lab.ipynb`) is one submission; any other folder is
    a batch whose sub-folders and zips are submissions. Each is copied or extracted under
    `scratch`; one that cannot be (a bad zip or notebook, a link, an unsafe name, a name taken
    twice) comes back with its `problem` set, and the others are unaffected.

    Raises:
        SubmissionError: a path that does not exist or holds no submission.
    """
    require_existing(paths)
    found: list[Submission] = []
    taken: set[str] = set()
    for path, kind in _entries(paths, modules):
        raw = path.stem if kind == "zip" else path.name
        name = safe_name(raw)
        if name in taken:
            twin = safe_name(f"{raw}-{hashlib.sha256(str(path).encode()).hexdigest()[:6]}")
            found.append(Submission(twin, path, path, f"{path}: expected one submission named {name!r}. "
                                    "Received: two (a folder and a zip, or two zips); rename one of them"))
            taken.add(twin)
            continue
        taken.add(name)
        try:
            folder = _prepare(path, kind, name, modules, scratch)
        except SubmissionError as exc:
            found.append(Submission(name, path, path, str(exc)))
        except Exception as exc:  # noqa: BLE001  (one bad entry never stops the batch)
            found.append(Submission(name, path, path, f"{path}: expected a gradable submission. Received: {type(exc).__name__}: {exc}"))
        else:
            found.append(Submission(name, folder, path))
    return found
