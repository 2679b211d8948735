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
from autograder.sandbox.outdir import out_dir_usage, prepare_out_dir, reclaim_out_dir
from autograder.sandbox.result import IsolationLevel, Outcome, SandboxResult, describe
from autograder.sandbox.view import build_view

LAUNCHER_SOURCE = (Path(__file__).with_name("launcher.py")).read_text(encoding="utf-8")
_OUT_DIR_CHECK_EVERY_S = 0.5


@dataclass
class _Watch:
    """What the watchdog saw and did during one run."""

    killed_for: Outcome | None = None
    peak_rss: int = 0
    detail: str = ""


def run_sandboxed(
    command: Sequence[str] | PythonEntry,
    *,
    workdir: Path,
    readable: Sequence[Path] = (),
    writable_out: Path,
    hidden: Sequence[Path] = (),
    limits: Limits = Limits(),
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
    uid = isolation.allocate_run_uid() if privileged else None
    workdir = Path(os.path.abspath(workdir))
    if not workdir.is_dir():
        raise FileNotFoundError(f"Expected `workdir` to be an existing folder. Received: workdir={str(workdir)!r}")
    out = prepare_out_dir(writable_out, uid)
    scratch = Path(tempfile.mkdtemp(prefix="autograder-sandbox-"))
    try:
        prefix, spec = _plan(level, privileged, uid, argv, workdir, readable, out, hidden, limits, env, scratch, devices)
        result = _execute(prefix, spec, limits, out, uid, isolation.report_for(level, uid))
    finally:
        if uid is not None:
            reclaim_out_dir(out)
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def _plan(level, privileged, uid, argv, workdir, readable, out, hidden, limits, env, scratch, devices):
    """The command prefix (bwrap or nothing) and the launcher's JSON spec for one run."""
    isolated = level is not IsolationLevel.PLAIN
    tmp = "/tmp" if isolated else str(_mkdir(scratch / "tmp"))
    base_env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLCONFIGDIR": os.path.join(tmp, "matplotlib"),
        "SANDBOX_OUT": str(out),
    }
    nproc = None
    if level is IsolationLevel.PLAIN and sys.platform.startswith("linux") and os.geteuid() != 0:
        nproc = procs.count_user_tasks(os.getuid()) + limits.max_processes  # counts the user's others too
    rlimits = limits.rlimits(nproc)
    if level is IsolationLevel.PLAIN and not sys.platform.startswith("linux"):
        rlimits.pop("RLIMIT_NPROC")  # per-user there, with no way to count the user's others
    spec = {
        "mode": level.value,
        "argv": argv,
        "env": {**base_env, **(env or {})},
        "cwd": str(workdir),
        "rlimits": rlimits,
        "uid": uid,
        "gid": uid,
        "host_pid_ns": _pid_ns(),
        "mounts": [],
        "view_root": None,
    }
    if not isolated:
        return [], spec
    program_dir = Path(os.path.realpath(argv[0])).parent
    extra = [program_dir] if os.path.isabs(argv[0]) and program_dir.is_dir() else []
    view = build_view(
        workdir=workdir, readable=readable, writable_out=out, hidden=hidden, tmp_bytes=limits.tmp_bytes,
        extra_system=extra, devices=devices,
    )
    if level is IsolationLevel.NAMESPACES:
        spec["mounts"] = [m.to_json() for m in view.mounts]
        spec["view_root"] = str(_mkdir(scratch / "root"))
        return [], spec
    spec["mode"] = "bwrap-root" if privileged else "bwrap-user"
    hidden_file = make_hidden_file(str(scratch))
    return bwrap_argv(find_bwrap() or "bwrap", view, privileged=privileged, hidden_file=hidden_file), spec


def _execute(prefix, spec, limits, out, uid, report) -> SandboxResult:
    """Start the launcher, watch it, kill everything at the end, and classify how it ended."""
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
    captures = [BoundedCapture(s, head=limits.output_head_bytes, tail=limits.output_tail_bytes) for s in (proc.stdout, proc.stderr)]
    for capture in captures:
        capture.start()
    try:
        watch = _watch(proc, limits, out, uid, started)
    except BaseException:  # Ctrl-C or an error in the grader: never leave the run behind
        procs.kill_family(proc.pid, uid)
        proc.wait()
        os.close(read_fd)
        raise
    strays = procs.kill_family(proc.pid, uid)
    duration = time.monotonic() - started
    status = _read_status(read_fd)
    stdout, stderr = (capture.result() for capture in captures)
    return _classify(proc.returncode, status, watch, strays, duration, stdout, stderr, report, limits)


def _watch(proc: subprocess.Popen, limits: Limits, out: Path, uid: int | None, started: float) -> _Watch:
    """Wait for the launcher, killing the run at the wall clock, memory or output-folder limit."""
    watch = _Watch()
    deadline = started + limits.wall_time_s
    next_out_check = started
    while True:
        try:
            proc.wait(timeout=max(0.0, min(limits.poll_interval_s, deadline - time.monotonic())))
            return watch
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if now >= deadline:
            watch.killed_for, watch.detail = Outcome.TIMEOUT, f"Limit: {limits.wall_time_s:g} s."
        else:
            rss = sum(info.rss_bytes for info in procs.family(proc.pid, uid).values())
            watch.peak_rss = max(watch.peak_rss, rss)
            if rss > limits.memory_bytes:
                watch.killed_for = Outcome.MEMORY
                watch.detail = f"Expected at most {limits.memory_bytes} bytes resident. Received: rss={rss}."
            elif now >= next_out_check:
                next_out_check = now + _OUT_DIR_CHECK_EVERY_S
                used, entries = out_dir_usage(out)
                if used > limits.max_out_dir_bytes or entries > 100_000:
                    watch.killed_for = Outcome.OUT_DIR_FULL
                    watch.detail = (
                        f"Expected at most {limits.max_out_dir_bytes} bytes in writable_out. "
                        f"Received: bytes={used}, entries={entries}."
                    )
        if watch.killed_for is not None:
            procs.kill_family(proc.pid, uid)
            proc.wait()
            return watch


def _classify(returncode, status, watch, strays, duration, stdout, stderr, report, limits) -> SandboxResult:
    exit_code = sig = None
    detail = watch.detail
    outcome = watch.killed_for
    peak = max(watch.peak_rss, int(status.get("maxrss_kib") or 0) * 1024)
    if outcome is not None:
        sig = int(signal.SIGKILL)
    elif "error" in status:
        outcome, detail = Outcome.SANDBOX_ERROR, f"Launcher: {status['error']}"
    elif status.get("wait_status") is not None:
        wait_status = status["wait_status"]
        if os.WIFSIGNALED(wait_status):
            sig = os.WTERMSIG(wait_status)
            outcome = Outcome.CPU_TIME if sig == signal.SIGXCPU else Outcome.SIGNALED
        else:
            exit_code = os.WEXITSTATUS(wait_status)
            outcome = Outcome.OK if exit_code == 0 else Outcome.EXIT_NONZERO
            if exit_code != 0 and "MemoryError" in stderr.text[-4000:]:
                outcome = Outcome.MEMORY
                detail = f"MemoryError at the per-process limit of {limits.memory_bytes} bytes (exit status {exit_code})."
    else:
        outcome = Outcome.SANDBOX_ERROR
        detail = f"The launcher ended without a report (status {returncode}): {stderr.text[-500:].strip()}"
    return SandboxResult(
        outcome=outcome,
        exit_code=exit_code,
        signal=sig,
        timed_out=outcome is Outcome.TIMEOUT,
        memory_exceeded=outcome is Outcome.MEMORY,
        killed=watch.killed_for is not None,
        duration_s=duration,
        peak_memory_bytes=peak,
        stdout=stdout,
        stderr=stderr,
        isolation=report,
        stray_processes_killed=int(status.get("strays") or 0) + strays,
        message=describe(outcome, exit_code, sig, detail),
    )


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
