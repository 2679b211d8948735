"""The run's one writable folder: checked before the run, measured during it, handed back after."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_ENTRIES = 100_000


def prepare_out_dir(path: Path, uid: int | None) -> Path:
    """Check that `path` is a fresh private folder and, for a per-run user, hand it to that user.

    Args:
        path: The folder the run may write to.
        uid: The run's own user id (root graders), or None to leave the owner as is.

    Returns:
        The absolute path.

    Raises:
        ValueError: If `path` is a symlink, not a folder, or not empty.
    """
    path = Path(os.path.abspath(path))
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"Expected `writable_out` to be a folder, not a symlink. Received: writable_out={str(path)!r}")
    if any(os.scandir(path)):
        raise ValueError(f"Expected `writable_out` to be an empty folder. Received: writable_out={str(path)!r}")
    if uid is not None:
        os.chown(path, uid, uid)
    os.chmod(path, 0o700)
    return path


def out_dir_usage(path: Path) -> tuple[int, int]:
    """(bytes, entries) under `path`, without following symlinks; stops counting at MAX_ENTRIES."""
    total = entries = 0
    stack = [str(path)]
    while stack and entries <= MAX_ENTRIES:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += info.st_blocks * 512 if hasattr(info, "st_blocks") else info.st_size
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return total, entries


def reclaim_out_dir(path: Path) -> None:
    """Give everything under `path` back to the grader's user, without set-id or other-write bits.

    After a run under a per-run user id, the files belong to a user that no longer exists;
    the grader takes them over (never following symlinks) so that it can read and delete them.
    """
    uid, gid = os.getuid(), os.getgid()
    for root, dirs, files in os.walk(path, followlinks=False):
        for name in [*dirs, *files, None]:
            target = root if name is None else os.path.join(root, name)
            try:
                info = os.lstat(target)
                os.chown(target, uid, gid, follow_symlinks=False)
                if not stat.S_ISLNK(info.st_mode):
                    os.chmod(
                        target,
                        stat.S_IMODE(info.st_mode) & 0o755 | 0o600 | (0o100 if stat.S_ISDIR(info.st_mode) else 0),
                    )
            except OSError:
                continue
