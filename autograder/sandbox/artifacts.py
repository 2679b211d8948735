"""Reading back what untrusted code left in its output folder, as data and nothing more.

Everything in `writable_out` was written by the student's code, so every reader here: refuses
absolute names, `..`, symlinks (at any depth) and anything but regular files; caps the bytes
read before parsing; and parses only formats that cannot run code (JSON; `.npz` with
`allow_pickle=False` after checking every array header; `.keras` models in Keras safe mode,
from a private copy). Call them only after `run_sandboxed` has returned, when no process of
the run is left to change the files.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from autograder.sandbox.limits import MIB


class UntrustedArtifactError(ValueError):
    """An output file is missing, outside the output folder, a symlink, too big or malformed."""


def _parts(name: str | os.PathLike) -> tuple[str, ...]:
    path = PurePosixPath(os.fspath(name))
    if path.is_absolute() or not path.parts or any(part in ("..", ".") for part in path.parts):
        raise UntrustedArtifactError(
            f"Expected a relative path inside the output folder. Received: name={os.fspath(name)!r}"
        )
    return path.parts


def read_bytes(out_dir: Path, name: str | os.PathLike, *, max_bytes: int) -> bytes:
    """The bytes of one regular file in `out_dir`, at most `max_bytes`, no symlink followed.

    Raises:
        UntrustedArtifactError: If the file is missing, not a regular file, reached through
            a symlink, or larger than `max_bytes`.
    """
    parts = _parts(name)
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fds = []
    try:
        fds.append(os.open(out_dir, flags | os.O_DIRECTORY))
        for part in parts[:-1]:
            fds.append(os.open(part, flags | os.O_DIRECTORY, dir_fd=fds[-1]))
        fd = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fds[-1])
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedArtifactError(f"Expected a regular file. Received: name={os.fspath(name)!r}")
        if info.st_size > max_bytes:
            raise UntrustedArtifactError(
                f"Expected at most {max_bytes} bytes. Received: name={os.fspath(name)!r}, size={info.st_size}"
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UntrustedArtifactError(
            f"Expected a regular file inside the output folder, reached without symlinks. "
            f"Received: name={os.fspath(name)!r} ({exc.strerror})"
        ) from exc
    finally:
        for fd in fds:
            os.close(fd)
    if len(data) > max_bytes:
        raise UntrustedArtifactError(f"Expected at most {max_bytes} bytes. Received: name={os.fspath(name)!r}")
    return data


def read_regular(path: str | os.PathLike, limit: int) -> bytes | None:
    """At most `limit + 1` bytes of the regular file at `path`, no link followed (None when there
    is none there: missing, a link, a folder or a special file). A caller that gets more than
    `limit` bytes knows the file is too big."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as stream:
            return stream.read(limit + 1)
    finally:
        os.close(fd)


def list_artifacts(out_dir: Path) -> list[str]:
    """Relative names of the regular files in `out_dir`; symlinks and special files are skipped."""
    names = []
    for root, dirs, files in os.walk(out_dir, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for file in files:
            path = os.path.join(root, file)
            if stat.S_ISREG(os.lstat(path).st_mode):
                names.append(os.path.relpath(path, out_dir))
    return sorted(names)


def read_json(out_dir: Path, name: str | os.PathLike, *, max_bytes: int = 1 * MIB) -> Any:
    """Parse one JSON file from the output folder (standard JSON only: no NaN or Infinity).

    Raises:
        UntrustedArtifactError: If the file is unsafe to read (see `read_bytes`) or not JSON.
    """
    data = read_bytes(out_dir, name, max_bytes=max_bytes)

    def reject_constant(value: str) -> Any:
        raise ValueError(f"non-standard constant {value}")

    try:
        return json.loads(data.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UntrustedArtifactError(f"Expected a JSON document. Received: name={os.fspath(name)!r} ({exc})") from exc


def read_npz(
    out_dir: Path,
    name: str | os.PathLike,
    *,
    max_bytes: int = 256 * MIB,
    max_array_bytes: int = 1024 * MIB,
    max_arrays: int = 64,
) -> dict[str, Any]:
    """Load the arrays of one `.npz` file, after checking that every header is honest.

    Arrays holding Python objects are refused (`allow_pickle=False`), and so is any array whose
    header claims more data than its member holds (which would make numpy allocate it anyway).

    Args:
        out_dir: The run's output folder.
        name: The file's name inside it.
        max_bytes: The largest file accepted.
        max_array_bytes: The largest total of the arrays once loaded.
        max_arrays: The most arrays accepted.

    Returns:
        A dict from array name to `numpy.ndarray`.

    Raises:
        UntrustedArtifactError: If the file is unsafe or malformed, or exceeds a limit.
    """
    import numpy as np

    data = read_bytes(out_dir, name, max_bytes=max_bytes)
    label = os.fspath(name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > max_arrays:
                raise UntrustedArtifactError(
                    f"Expected at most {max_arrays} arrays. Received: name={label!r}, arrays={len(members)}"
                )
            total = 0
            for member in members:
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    else:  # 2.0; numpy refuses other versions with a ValueError
                        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                if dtype.hasobject:
                    raise UntrustedArtifactError(
                        f"Expected numeric arrays. Received: name={label!r}, array={member.filename!r}, dtype=object"
                    )
                nbytes = math.prod(shape) * dtype.itemsize
                if nbytes > member.file_size:
                    raise UntrustedArtifactError(
                        f"Expected array headers that match their data. Received: name={label!r}, "
                        f"array={member.filename!r}, shape={shape}, stored_bytes={member.file_size}"
                    )
                total += nbytes
            if total > max_array_bytes:
                raise UntrustedArtifactError(
                    f"Expected at most {max_array_bytes} bytes of arrays. Received: name={label!r}, bytes={total}"
                )
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except UntrustedArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure of hostile data is the same error
        raise UntrustedArtifactError(
            f"Expected a numpy .npz file. Received: name={label!r} ({type(exc).__name__}: {exc})"
        ) from exc


def load_keras_model(
    out_dir: Path,
    name: str | os.PathLike,
    *,
    max_bytes: int = 256 * MIB,
    max_unpacked_bytes: int = 1024 * MIB,
    custom_objects: dict | None = None,
):
    """Load a `.keras` model saved by untrusted code, in Keras safe mode, in the grader process.

    The file is read (bounded), its zip members checked, copied to a private folder, and loaded
    with `keras.models.load_model(path, safe_mode=True, compile=True)`: safe mode refuses
    Lambda layers and other serialized Python code, and Keras only imports classes from the
    `keras` packages or `custom_objects`.

    Raises:
        UntrustedArtifactError: If the file is unsafe, too big, not a `.keras` archive, or Keras
            refuses it.
    """
    label = os.fspath(name)
    if not label.endswith(".keras"):
        raise UntrustedArtifactError(f"Expected a file ending in .keras. Received: name={label!r}")
    data = read_bytes(out_dir, name, max_bytes=max_bytes)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise UntrustedArtifactError(f"Expected a .keras archive. Received: name={label!r} ({exc})") from exc
    if unpacked > max_unpacked_bytes:
        raise UntrustedArtifactError(
            f"Expected at most {max_unpacked_bytes} unpacked bytes. Received: name={label!r}, bytes={unpacked}"
        )
    if "config.json" not in names:
        raise UntrustedArtifactError(
            f"Expected a .keras archive with config.json. Received: name={label!r}, members={sorted(names)[:10]}"
        )

    import keras

    with tempfile.TemporaryDirectory(prefix="autograder-model-") as private:
        path = os.path.join(private, "model.keras")
        with open(path, "wb") as handle:
            handle.write(data)
        try:
            return keras.models.load_model(path, custom_objects=custom_objects, compile=True, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - Keras raises many types for hostile files
            reason = f"{type(exc).__name__}: {exc}"
            raise UntrustedArtifactError(
                f"Expected a .keras model that loads in safe mode. Received: name={label!r} ({reason})"
            ) from exc
