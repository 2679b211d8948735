"""`run_sandboxed`: run one piece of untrusted code under limits and isolation, and report.

The grader calls this once per part of a submission. The code runs in a separate process
tree in its own session; a watchdog loop enforces the wall clock, the memory of the whole
tree and the size of the output folder, and every process of the run is killed before this
returns, however the run ended.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import isolation, procs
from autograder.sandbox.bwrap import bwrap_argv, find_bwrap, make_hidden_file
from autograder.sandbox.capture import BoundedCapture
from autograder.sandbox.command import PythonEntry, to_argv
from autograder.sandbox.limits import Limits
from autograder.sandbox.outdir import prepare_out_dir, reclaim_out_dir
from autograder.sandbox.result import IsolationLevel, Outcome, SandboxResult, describe
from autograder.sandbox.view import build_view
from autograder.sandbox.watchdog import Watch, watch_run

DEFAULT_LIMITS = Limits()
LAUNCHER_SOURCE = (Path(__file__).with_name("launcher.py")).read_text(encoding="utf-8")


@dataclass(frozen=True)
class _Request:
    """One run's validated inputs, as `_plan` turns them into a command line and a spec."""

    level: IsolationLevel
    uid: int | None
    argv: list[str]
    workdir: Path
    readable: Sequence[Path]
    out: Path
    hidden: Sequence[Path]
    limits: Limits
    env: Mapping[str, str]
    devices: Sequence[Path]
    scratch: Path

    @property
    def privileged(self) -> bool:
        """True when the grader is root and the run gets a user id of its own."""
        return self.uid is not None


def run_sandboxed(
    command: Sequence[str] | PythonEntry,
    *,
    workdir: Path,
    readable: Sequence[Path] = (),
    writable_out: Path,
    hidden: Sequence[Path] = (),
    limits: Limits = DEFAULT_LIMITS,
    env: Mapping[str, str] | None = None,
    isolation_level: IsolationLevel | str | None = None,
    devices: Sequence[Path] = (),
) -> SandboxResult:
    """Run untrusted code with limits, no network, no view of hidden paths; report how it ended.

    The code sees the operating system, the grader's Python, `workdir` and `readable`
    (read-only), a private `/tmp`, and `writable_out`, its only way to hand back files. Treat
    everything it writes there as hostile data (see `autograder.sandbox.artifacts`).

    Example:
        >>> result = run_sandboxed(                                          # doctest: +SKIP
        ...     PythonEntry(module="worker", args=("augmentation",)),
        ...     workdir=submission, readable=[repo / "autograder"], writable_out=out,
        ...     hidden=[repo / "solutions", hidden_test_dir], limits=Limits(wall_time_s=120))
        >>> result.outcome, result.isolation.level                          # doctest: +SKIP
        (<Outcome.OK: 'ok'>, <IsolationLevel.BWRAP: 'bwrap'>)

    Args:
        command: An argv list, or a `PythonEntry` run with the grader's interpreter.
        workdir: The folder the code starts in (read-only to it).
        readable: Further paths the code may read.
        writable_out: An existing, empty folder: the only place the code can write to that
            outlives the run. Files there come back owned by the grader's user.
        hidden: Paths the code must never read (solutions, hidden tests, hidden images),
            also where they lie inside `workdir` or a readable path.
        limits: Time, memory, process, file and output limits.
        env: Environment variables for the code, on top of a minimal clean environment
            (the grader's own environment is not passed on).
        isolation_level: Force a level (tests do); None picks the strongest available.
        devices: Device nodes to expose beyond null/zero/random/tty, e.g. `gpu_devices()`
            for the `gpu` profile.

    Returns:
        The `SandboxResult`: outcome, exit code or signal, duration, bounded output and the
        isolation used.

    Raises:
        RuntimeError: If a forced `isolation_level` is not available on this machine.
        ValueError: If `writable_out` is not an empty folder, or a path overlaps a hidden one.
        TypeError: If `command` is neither an argv list nor a `PythonEntry`.
    """
    argv = to_argv(command)
    level = isolation.choose_level(isolation_level)
    privileged = level is not IsolationLevel.PLAIN and os.geteuid() == 0
    uid = isolation.allocate_run_uid() if privileged else None  # RLIMIT_NPROC binds every uid but root
    workdir = Path(os.path.abspath(workdir))
    if not workdir.is_dir():
        raise FileNotFoundError(f"Expected `workdir` to be an existing folder. Received: workdir={str(workdir)!r}")
    out = prepare_out_dir(writable_out, uid)
    scratch = Path(tempfile.mkdtemp(prefix="autograder-sandbox-"))
    request = _Request(level, uid, argv, workdir, readable, out, hidden, limits, env or {}, devices, scratch)
    try:
        prefix, spec = _plan(request)
        result = _execute(request, prefix, spec)
    finally:
        if uid is not None:
            reclaim_out_dir(out)
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def _plan(request: _Request) -> tuple[list[str], dict]:
    """The command prefix (bwrap or nothing) and the launcher's JSON spec for one run."""
    level, limits = request.level, request.limits
    isolated = level is not IsolationLevel.PLAIN
    tmp = "/tmp" if isolated else str(_mkdir(request.scratch / "tmp"))
    base_env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLCONFIGDIR": os.path.join(tmp, "matplotlib"),
        "SANDBOX_OUT": str(request.out),
    }
    spec = {
        "mode": level.value,
        "argv": request.argv,
        "env": {**base_env, **request.env},
        "cwd": str(request.workdir),
        "rlimits": _rlimits(level, limits),
        "uid": request.uid,
        "gid": request.uid,
        "host_pid_ns": _pid_ns(),
        "mounts": [],
        "view_root": None,
    }
    if not isolated:
        return [], spec
    program_dir = Path(os.path.realpath(request.argv[0])).parent
    view = build_view(
        workdir=request.workdir,
        readable=request.readable,
        writable_out=request.out,
        hidden=request.hidden,
        tmp_bytes=limits.tmp_bytes,
        extra_system=[program_dir] if os.path.isabs(request.argv[0]) and program_dir.is_dir() else [],
        devices=request.devices,
    )
    if level is IsolationLevel.NAMESPACES:
        spec["mounts"] = [m.to_json() for m in view.mounts]
        spec["view_root"] = str(_mkdir(request.scratch / "root"))
        return [], spec
    spec["mode"] = "bwrap-root" if request.privileged else "bwrap-user"
    hidden_file = make_hidden_file(str(request.scratch))
    return bwrap_argv(find_bwrap() or "bwrap", view, privileged=request.privileged, hidden_file=hidden_file), spec


def _rlimits(level: IsolationLevel, limits: Limits) -> dict[str, tuple[int, int]]:
    """The rlimits for `level`. Plain runs share the caller's user, whose other tasks count too."""
    if level is not IsolationLevel.PLAIN:
        return limits.rlimits()
    if not sys.platform.startswith("linux"):
        rlimits = limits.rlimits()
        rlimits.pop("RLIMIT_NPROC")  # per user there, with no way to count the user's other tasks
        return rlimits
    if os.geteuid() == 0:
        return limits.rlimits()  # binds nobody: root is exempt (the report says so)
    return limits.rlimits(nproc=procs.count_user_tasks(os.getuid()) + limits.max_processes)


def _execute(request: _Request, prefix: list[str], spec: dict) -> SandboxResult:
    """Start the launcher, watch it, kill everything at the end, and classify how it ended."""
    limits, uid = request.limits, request.uid
    read_fd, write_fd = os.pipe()
    spec["status_fd"] = write_fd
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER_SOURCE, json.dumps(spec)]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [*prefix, *launcher],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(write_fd,),
            start_new_session=True,
            cwd="/",
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    captures = [
        BoundedCapture(stream, head=limits.output_head_bytes, tail=limits.output_tail_bytes)
        for stream in (proc.stdout, proc.stderr)
    ]
    for capture in captures:
        capture.start()
    try:
        watch = watch_run(proc, limits, request.out, uid, started)
    except BaseException:  # Ctrl-C or an error in the grader: never leave the run behind
        procs.kill_family(proc.pid, uid)
        proc.wait()
        os.close(read_fd)
        raise
    strays = procs.kill_family(proc.pid, uid)
    duration = time.monotonic() - started
    status = _read_status(read_fd)
    stdout, stderr = (capture.result() for capture in captures)
    outcome, exit_code, sig, detail = _classify(proc.returncode, status, watch, stderr.text, limits)
    return SandboxResult(
        outcome=outcome,
        exit_code=exit_code,
        signal=sig,
        timed_out=outcome is Outcome.TIMEOUT,
        memory_exceeded=outcome is Outcome.MEMORY,
        killed=watch.killed_for is not None,
        duration_s=duration,
        peak_memory_bytes=max(watch.peak_rss, int(status.get("maxrss_kib") or 0) * 1024),
        stdout=stdout,
        stderr=stderr,
        isolation=isolation.report_for(request.level, uid),
        stray_processes_killed=int(status.get("strays") or 0) + strays,
        message=describe(outcome, exit_code, sig, detail),
    )


def _classify(
    returncode: int | None, status: dict, watch: Watch, stderr: str, limits: Limits
) -> tuple[Outcome, int | None, int | None, str]:
    """(outcome, exit code, signal, detail) from the watchdog's verdict and the launcher's report."""
    if watch.killed_for is not None:
        return watch.killed_for, None, int(signal.SIGKILL), watch.detail
    if "error" in status:
        return Outcome.SANDBOX_ERROR, None, None, f"Launcher: {status['error']}"
    wait_status = status.get("wait_status")
    if wait_status is None:
        detail = f"The launcher ended without a report (status {returncode}): {stderr[-500:].strip()}"
        return Outcome.SANDBOX_ERROR, None, None, detail
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        return (Outcome.CPU_TIME if sig == signal.SIGXCPU else Outcome.SIGNALED), None, sig, ""
    exit_code = os.WEXITSTATUS(wait_status)
    if exit_code == 0:
        return Outcome.OK, 0, None, ""
    if "MemoryError" in stderr[-4000:]:
        detail = f"MemoryError at the per-process limit of {limits.memory_bytes} bytes (exit {exit_code})."
        return Outcome.MEMORY, exit_code, None, detail
    return Outcome.EXIT_NONZERO, exit_code, None, ""


def _read_status(fd: int) -> dict:
    """The launcher's report: its last JSON line (an error or the wait status), or {}."""
    os.set_blocking(fd, False)
    data = b""
    try:
        while len(data) < 65536:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    record: dict = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            record.update(parsed)
    return record


def _mkdir(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def _pid_ns() -> int | None:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
