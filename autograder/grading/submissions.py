"""Find the submissions behind the paths a TA gives: a folder, a `.zip`, or a folder of either.

Every submission is copied (a folder) or extracted (a zip) into a private scratch folder, and
graded from there: the grader never follows a link a student made, never reads a special file,
and never uses a student's file name in a path unless it is a safe slug. One bad entry never
stops a batch: `discover` turns it into a `Submission` with a `problem` (the message for the TA,
naming the file and the cause), which the batch records as that submission's failed row.
Only a path the TA gave that does not exist, or a folder that holds no submission at all, is an
error for the whole batch (`SubmissionError`).

Hand-ins come as TAs collect them: a folder of per-student folders (each holding the modules, a
notebook or one zip, e.g. the `<lab>-submission.zip` every `course submit` writes), a folder of
zips, Canvas's "Download Submissions" (`<name>[_LATE]_<user id>_<attachment id>_<file>`) and
Gradescope's "Export Submissions" (`submission_<id>/` folders and `submission_metadata.yml`).
Who a submission is comes from that layout (the folder the TA made, the LMS's id); the
student id in a `course submit` manifest is used only when the layout gives none, and a
different one is flagged. The manifest's file hashes are checked (`Submission.manifest`).
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
from autograder.submit.manifest import STUDENT_ID, check_folder

MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_ZIP_FILES = 200
# File and folder names the grader uses in paths (the output folder, the scratch copy).
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RESERVED = frozenset({"gradebook.csv"})  # the batch's own files in the output folder
# Left out of a folder submission's copy: editor, OS and Python leftovers, never graded.
SKIPPED = frozenset({"__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git", ".DS_Store"})
_COPY = 1024 * 1024
# Canvas "Download Submissions": <name>[_LATE|_late]_<user id>_<attachment id>_<original file name>.
CANVAS_NAME = re.compile(r"^(?P<name>[A-Za-z0-9]+?)(?:_late)?_(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$", re.IGNORECASE)
GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 8 * 1024 * 1024


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
        student: who handed it in: from the layout the TA collected (folder, LMS), else the
            manifest's id, else "".
        manifest: "" (no manifest), "verified", or what does not match (see `check_folder`).
    """

    name: str
    folder: Path
    source: Path
    problem: str = ""
    student: str = ""
    manifest: str = ""


@dataclass(frozen=True)
class Entry:
    """One hand-in found in the paths: where it is, how to read it, its name and who it is."""

    path: Path
    kind: str  # "zip", "folder" or "link"
    raw: str  # the name it is graded under (before `safe_name`)
    student: str | None = None  # from the layout; None when the layout does not say
    problem: str = ""
    origin: str = "the folder"  # where `student` comes from, for the TA's message


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


def _gradescope_students(folder: Path) -> dict[str, str]:
    """`submission_<id>` -> the student (sid, else email, else name) from Gradescope's metadata."""
    import yaml  # noqa: PLC0415

    path = folder / GRADESCOPE_METADATA
    try:
        if path.is_symlink() or path.stat().st_size > MAX_METADATA_BYTES:
            raise SubmissionError(f"{path}: expected Gradescope's metadata (a plain file of at most 8 MiB)")
        metadata = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SubmissionError(f"{path}: expected Gradescope's submission metadata. Received: {type(exc).__name__}") from None
    students = {}
    for key, entry in (metadata or {}).items() if isinstance(metadata, dict) else ():
        submitters = entry.get(":submitters") if isinstance(entry, dict) else None
        ids = []
        for submitter in submitters if isinstance(submitters, list) else ():
            if isinstance(submitter, dict):
                found = next((str(submitter[k]) for k in (":sid", ":email", ":name") if submitter.get(k)), "")
                ids.append(found)
        if ids and all(ids):
            students[str(key)] = "+".join(ids)  # a group submission: every member's id
    return students


def _child_entry(child: Path, modules: tuple[str, ...], students: dict[str, str]) -> Entry | None:
    """The hand-in `child` of a batch folder is, or None when it is none."""
    if child.is_symlink():
        return Entry(child, "link", child.stem if child.suffix.lower() == ".zip" else child.name) if (
            child.suffix.lower() == ".zip" or child.is_dir()) else None
    if child.suffix.lower() == ".zip" and child.is_file():
        canvas = CANVAS_NAME.match(child.stem)
        if canvas:
            return Entry(child, "zip", f"{canvas['name']}_{canvas['user']}", canvas["user"], origin="Canvas's user id")
        return Entry(child, "zip", child.stem)
    if not child.is_dir():
        return None
    student = students.get(child.name, child.name)
    origin = "Gradescope's metadata" if child.name in students else "the folder"
    if _is_submission_folder(child, modules):
        return Entry(child, "folder", child.name, student, origin=origin)
    zips = sorted(p for p in child.iterdir() if p.suffix.lower() == ".zip" and (p.is_file() or p.is_symlink()))
    if len(zips) == 1:
        kind = "link" if zips[0].is_symlink() else "zip"
        return Entry(zips[0], kind, child.name, student, origin=origin)
    if len(zips) > 1:
        names = ", ".join(p.name for p in zips[:5])
        return Entry(child, "folder", child.name, student,
                     f"{child}: expected one zip (or the modules) in a student's folder. Received: {names}", origin)
    return None


def _entries(paths: list[Path], modules: tuple[str, ...]) -> list[Entry]:
    """Each hand-in under `paths`, in a stable order; raises for TA mistakes."""
    found: list[Entry] = []
    for path in map(Path, paths):
        if path.is_symlink():  # a path the TA gave: followed (links inside a batch are refused)
            path = path.resolve()
        if path.is_file():
            if path.suffix.lower() != ".zip":
                raise SubmissionError(f"Expected a folder or a .zip. Received: {path}")
            found.append(Entry(path, "zip", path.stem))
        elif _is_submission_folder(path, modules):
            found.append(Entry(path, "folder", path.name, path.name))
        else:
            students = _gradescope_students(path) if (path / GRADESCOPE_METADATA).is_file() else {}
            batch = [entry for child in sorted(path.iterdir()) if (entry := _child_entry(child, modules, students))]
            if not batch:
                raise SubmissionError(
                    f"{path} holds no submission: expected {', '.join(modules)} (or lab.ipynb) in it, or in its "
                    "sub-folders, or zips in it or in its sub-folders"
                )
            found += batch
    return found


def _prepare(entry: Entry, name: str, modules: tuple[str, ...], scratch: Path) -> tuple[Path, str | None, str]:
    """The grader's private folder of modules for one hand-in, the manifest's student id and its
    status; raises with the TA's message."""
    path = entry.path
    if entry.problem:
        raise SubmissionError(entry.problem)
    if entry.kind == "link":
        raise SubmissionError(f"{path}: expected a folder or a .zip. Received: a link (links are refused)")
    if name != entry.raw:
        raise SubmissionError(
            f"{path}: expected a name of letters, digits, '.', '_' or '-' (not starting with '.'). "
            f"Received: {entry.raw[:80]!r}; rename it"
        )
    copy = scratch / "submissions" / name
    folder = safe_extract(path, copy) if entry.kind == "zip" else copy_folder(path, copy)
    student, status = check_folder(folder, (*modules, "lab.ipynb"))
    try:
        return module_folder(folder, modules, scratch / ".notebooks" / name), student, status
    except NotebookSubmissionError as exc:  # name the TA's file, not the grader's copy
        raise SubmissionError(str(exc).replace(str(copy), str(path))) from None
    except (RecursionError, MemoryError):
        raise SubmissionError(f"{path}: expected a notebook the grader can read. Received: nesting too deep") from None


def _who(entry: Entry, from_manifest: str | None, status: str) -> tuple[str, str]:
    """The student and the manifest status, flagging a manifest id other than the layout's."""
    if entry.student is None:
        return from_manifest or "", status
    if from_manifest and from_manifest != entry.student:
        status = f"{status}; its student id {from_manifest!r} differs from {entry.origin} {entry.student!r}"
    return entry.student, status


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
    for entry in _entries(paths, modules):
        path, raw = entry.path, entry.raw
        student = entry.student if entry.student and STUDENT_ID.match(entry.student) else ""
        name = safe_name(raw)
        if name in taken:
            twin = safe_name(f"{raw}-{hashlib.sha256(str(path).encode()).hexdigest()[:6]}")
            found.append(Submission(twin, path, path, f"{path}: expected one submission named {name!r}. "
                                    "Received: two (a folder and a zip, or two zips); rename one of them", student))
            taken.add(twin)
            continue
        taken.add(name)
        try:
            folder, from_manifest, status = _prepare(entry, name, modules, scratch)
        except SubmissionError as exc:
            found.append(Submission(name, path, path, str(exc), student))
        except Exception as exc:  # noqa: BLE001  (one bad entry never stops the batch)
            found.append(Submission(name, path, path, f"{path}: expected a gradable submission. Received: {type(exc).__name__}: {exc}", student))
        else:
            who, status = _who(entry, from_manifest, status)
            found.append(Submission(name, folder, path, "", who if STUDENT_ID.match(who or "-") else "", status))
    return found
