"""The filesystem a sandboxed run sees: an allow-list of read-only paths, one writable folder.

Instead of the whole host filesystem minus some holes, the run sees only: the operating system
(`/usr`, `/etc`, the `/lib*` and `/bin` links), the Python that runs it, the caller's `readable`
paths and `workdir` (read-only), a fresh in-memory `/tmp`, `/dev` and `/proc`, and `writable_out`
(read-write). Every `hidden` path that falls inside one of these is then covered by an empty,
unreadable mount. The same plan is rendered as bubblewrap arguments (`bwrap.py`) or carried
out by the launcher with mount(2) (the `namespaces` level).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MountKind = Literal["ro-bind", "bind", "dev-bind", "tmpfs", "symlink", "dev", "proc", "hide-dir", "hide-file"]

SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "sys")


@dataclass(frozen=True)
class Mount:
    """One step of building the view, applied in order.

    Args:
        kind: `ro-bind`/`bind` (host `source` at `dest`), `dev-bind` (a host device node),
            `tmpfs` (fresh memory folder of
            `size` bytes and `mode`), `symlink` (`dest` pointing to `source`), `dev`/`proc`
            (minimal devices, process list), `hide-dir`/`hide-file` (an empty unreadable
            folder or file over `dest`).
        dest: The path inside the sandbox.
        source: The host path to bind, or the symlink's target.
        size: A tmpfs size in bytes.
        mode: A tmpfs permission mode.
    """

    kind: MountKind
    dest: str
    source: str | None = None
    size: int | None = None
    mode: int | None = None

    def to_json(self) -> dict:
        """A plain dict the launcher (which only has the standard library) can read."""
        return {"kind": self.kind, "dest": self.dest, "source": self.source, "size": self.size, "mode": self.mode}


@dataclass(frozen=True)
class View:
    """The ordered mounts of one run, and the hidden paths that were actually covered."""

    mounts: tuple[Mount, ...]
    masked: tuple[str, ...]


def _is_within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _depth(path: str) -> int:
    return len(Path(path).parts)


def _absolute(name: str, path: os.PathLike | str) -> Path:
    path = Path(path)
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.exists():
        raise FileNotFoundError(f"Expected an existing path for `{name}`. Received: {name}={str(path)!r}")
    return Path(os.path.normpath(path))


def gpu_devices() -> list[Path]:
    """The NVIDIA device nodes of this machine (`/dev/nvidia*`), for runs that need the GPU."""
    found = sorted(Path("/dev").glob("nvidia*")) + sorted(Path("/dev/nvidia-caps").glob("*"))
    return [path for path in found if path.exists() and stat.S_ISCHR(path.stat().st_mode)]


def runtime_paths() -> list[Path]:
    """The folders the running Python needs: its prefix, its base prefix and their real paths, and
    the package folders on its path outside them (`pip install --user`, a `.pth` or
    `--system-site-packages` venv: where a student's Keras may well be)."""
    paths: list[Path] = []
    for value in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        for path in (Path(value), Path(os.path.realpath(value))):
            if path.is_dir() and path not in paths:
                paths.append(path)
    for entry in sys.path:
        path = Path(os.path.realpath(entry)) if entry else None
        if path is not None and path.name in ("site-packages", "dist-packages") and path.is_dir():
            if not any(path == known or known in path.parents for known in paths):
                paths.append(path)
    return paths


def build_view(
    *,
    workdir: Path,
    readable: Sequence[Path],
    writable_out: Path,
    hidden: Sequence[Path],
    tmp_bytes: int,
    extra_system: Sequence[Path] = (),
    devices: Sequence[Path] = (),
) -> View:
    """Plan the sandbox's filesystem: what is bound where, and which hidden paths are covered.

    Args:
        workdir: The folder the code runs in (bound read-only).
        readable: Further paths the code may read (bound read-only).
        writable_out: The only host folder the code may write to.
        hidden: Paths the code must never read, even where they lie inside a readable path.
        tmp_bytes: The size of the private `/tmp`.
        extra_system: More host paths to bind read-only (e.g. the interpreter of a command).
        devices: Host device nodes to make usable inside (e.g. `gpu_devices()`).

    Returns:
        The view, its mounts in the order they must be applied.

    Raises:
        ValueError: If a readable path or `writable_out` lies inside a hidden path, or
            `writable_out` contains a hidden path.
        FileNotFoundError: If `workdir`, a readable path or `writable_out` does not exist.
    """
    workdir = _absolute("workdir", workdir)
    out = _absolute("writable_out", writable_out)
    wanted = [("readable", _absolute("readable", p)) for p in readable] + [("workdir", workdir)]
    hidden_real = [os.path.realpath(_absolute("hidden", h)) for h in hidden if Path(h).exists()]

    for name, path in [*wanted, ("writable_out", out)]:
        real = os.path.realpath(path)
        for secret in hidden_real:
            if _is_within(real, secret) or (name == "writable_out" and _is_within(secret, real)):
                raise ValueError(
                    f"Expected `{name}` to be outside every hidden path and to contain none. "
                    f"Received: {name}={str(path)!r}, hidden={secret!r}"
                )

    top: list[Mount] = [Mount("dev", "/dev"), Mount("proc", "/proc")]
    for device in devices:
        if not stat.S_ISCHR(os.stat(device).st_mode):
            raise ValueError(f"Expected a character device in `devices`. Received: devices={str(device)!r}")
        top.append(Mount("dev-bind", str(device), str(device)))
    for name in SYSTEM_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            top.append(Mount("symlink", str(path), os.readlink(path)))
        elif path.is_dir():
            top.append(Mount("ro-bind", str(path), str(path)))

    binds: list[Mount] = [
        Mount("tmpfs", "/tmp", size=tmp_bytes, mode=0o1777),
        Mount("tmpfs", "/dev/shm", size=tmp_bytes, mode=0o1777),
    ]
    for path in [*runtime_paths(), *map(Path, extra_system), *(p for _, p in wanted)]:
        _add_bind(binds, top, "ro-bind", path)
    binds.append(Mount("bind", str(out), os.path.realpath(out)))

    ordered = top + sorted(binds, key=lambda m: _depth(m.dest))  # parents before children
    masks = _masks(ordered, hidden_real)
    return View(tuple(ordered + masks), tuple(m.dest for m in masks))


def _add_bind(binds: list[Mount], system: list[Mount], kind: MountKind, path: Path) -> None:
    """Append a bind of `path` unless a bind already in the plan exposes the same host files."""
    dest, real = str(path), os.path.realpath(path)
    for mount in [*system, *binds]:
        if mount.kind in ("ro-bind", "bind") and mount.source and _is_within(dest, mount.dest):
            if (
                _is_within(real, os.path.realpath(mount.source))
                and dest[len(mount.dest) :] == real[len(mount.source) :]
            ):
                return
    binds.append(Mount(kind, dest, real))


def _masks(mounts: list[Mount], hidden_real: list[str]) -> list[Mount]:
    """An unreadable cover for every place inside the view where a hidden path shows up."""
    masks: dict[str, Mount] = {}
    for secret in hidden_real:
        kind: MountKind = "hide-dir" if os.path.isdir(secret) else "hide-file"
        for mount in mounts:
            if mount.kind not in ("ro-bind", "bind") or not mount.source:
                continue
            source = os.path.realpath(mount.source)
            if _is_within(secret, source):
                dest = mount.dest.rstrip("/") + secret[len(source.rstrip("/")) :]
                masks.setdefault(dest, Mount(kind, dest or "/"))
    return sorted(masks.values(), key=lambda m: _depth(m.dest))
