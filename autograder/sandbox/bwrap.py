"""The bubblewrap command line for a planned view (the strongest isolation level)."""

from __future__ import annotations

import os
import shutil
from pathlib import PurePosixPath

from autograder.sandbox.view import View

# Namespaces every run gets: no network, own PIDs (killing bwrap kills everything), own IPC
# and hostname. A new session stops the code from typing into the grader's terminal.
_NAMESPACES = ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")


def find_bwrap() -> str | None:
    """The path of the `bwrap` executable, or None when bubblewrap is not installed."""
    return shutil.which("bwrap")


def bwrap_argv(bwrap: str, view: View, *, privileged: bool, hidden_file: str) -> list[str]:
    """The `bwrap ... --` prefix that runs a command inside `view`.

    Args:
        bwrap: The `bwrap` executable.
        view: The planned mounts.
        privileged: True when the grader is root: bwrap then keeps root inside the sandbox
            only long enough for the launcher to drop to the run's own user id (so that
            `RLIMIT_NPROC` counts that user alone). Otherwise a user namespace maps the
            caller to `nobody` (65534) inside, and `--disable-userns` forbids more. In both
            cases the launcher's seccomp filter denies new namespaces to the code
            (`--disable-userns` needs `--unshare-user`, which a privileged run cannot use).
        hidden_file: An empty host file with mode 000, bound over hidden files.

    Returns:
        The arguments up to and including `--`; append the command.
    """
    argv = [bwrap, *_NAMESPACES, "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if not privileged:
        argv += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]
    created: set[str] = set()
    for mount in view.mounts:
        argv += _parents(mount.dest, created)
        if mount.kind == "ro-bind":
            argv += ["--ro-bind", mount.source, mount.dest]
        elif mount.kind == "bind":
            argv += ["--bind", mount.source, mount.dest]
        elif mount.kind == "dev-bind":
            argv += ["--dev-bind", mount.source, mount.dest]
        elif mount.kind == "symlink":
            argv += ["--symlink", mount.source, mount.dest]
        elif mount.kind == "tmpfs":
            argv += ["--perms", f"{mount.mode or 0o755:04o}", "--size", str(mount.size), "--tmpfs", mount.dest]
        elif mount.kind == "dev":
            argv += ["--dev", mount.dest]
        elif mount.kind == "proc":
            argv += ["--proc", mount.dest]
        elif mount.kind == "hide-dir":
            argv += ["--perms", "0000", "--size", "4096", "--tmpfs", mount.dest, "--remount-ro", mount.dest]
        elif mount.kind == "hide-file":
            argv += ["--ro-bind", hidden_file, mount.dest]
        else:  # pragma: no cover - View only holds the kinds above
            raise ValueError(f"Expected a known mount kind. Received: kind={mount.kind!r}")
    return [*argv, "--"]


def _parents(dest: str, created: set[str]) -> list[str]:
    """`--dir` steps that create `dest`'s missing parents traversable (bwrap would use 0700).

    `--dir` leaves a folder that already exists (e.g. inside an earlier bind) as it is.
    """
    steps: list[str] = []
    for parent in reversed(PurePosixPath(dest).parents):
        name = str(parent)
        if name != "/" and name not in created:
            created.add(name)
            steps += ["--perms", "0755", "--dir", name]
    return steps


def make_hidden_file(folder: str) -> str:
    """Create the empty, mode-000 file that covers hidden files; return its path."""
    path = os.path.join(folder, "hidden")
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0)
    os.close(fd)
    os.chmod(path, 0)
    return path
