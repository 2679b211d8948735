"""Atomic file writes for reports: a reader sees the old file or the new one, never half of one.

Reports are rewritten while TAs (or Gradescope's harness) may be reading them, and a grading
run can be interrupted; writing to a temporary file in the same folder and `os.replace`-ing
it over the target keeps every report whole.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

DEFAULT_MODE = 0o644


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> Path:
    """Write `data` to `path` atomically, creating missing parent folders.

    The new file keeps the permissions of the file it replaces (0644 for a new one) rather
    than the private mode of a temporary file, unless `mode` is given. A link at `path` is
    replaced, never followed.

    Args:
        path: the file to write.
        data: its complete new content.
        mode: the new file's permissions (e.g. 0o600 for a grader-only file).

    Returns:
        The path written, as a `Path`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            info = target.lstat()
            mode = stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else DEFAULT_MODE
        except FileNotFoundError:
            mode = DEFAULT_MODE
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike, text: str, mode: int | None = None) -> Path:
    """Write `text` (UTF-8) to `path` atomically; see `atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode)
