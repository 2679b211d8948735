"""`run_sandboxed`: run one piece of untrusted code under limits and isolation, and report.

The grader calls this once per part of a submission. The code runs in a separate process
tree in its own session, inside a cgroup of its own where the machine offers one (memory with
shared memory counted, processes, CPU: `cgroups.py`), under a seccomp filter (`seccomp.py`)
and, when the grader is root, under a user id of its own at every level. A watchdog loop
enforces the wall clock and the size of the output folder, reports the kernel's OOM kills as
`Outcome.MEMORY`, and enforces the memory limit itself where there is no cgroup. Every
process of the run is killed, and its cgroup removed, before this returns, however the run
ended.
"""

from __future__ import annotations

import functools
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

from autograder.sandbox import cgroups, isolation, procs, seccomp
from autograder.sandbox.bwrap import bwrap_argv, find_bwrap, make_hidden_file
from autograder.sandbox.capture import BoundedCapture
from autograder.sandbox.command import PythonEntry, to_argv
from autograder.sandbox.limits import Limits
from autograder.sandbox.outdir import prepare_out_dir, reclaim_out_dir
from autograder.sandbox.result import CapturedOutput, IsolationLevel, Outcome, SandboxResult, describe
from autograder.sandbox.view import build_view
from autograder.sandbox.watchdog import SharedMemory, Watch, oom_detail, watch_run

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
    cgroup_parent: str | os.PathLike | None = None

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
    cgroup_parent: str | os.PathLike | None = None,
) -> SandboxResult:
    """Run untrusted code with limits, no network, no view of hidden paths; report how it ended.

    The code sees the operating system, the grader's Python, `workdir` and `readable`
    (read-only), a private `/tmp`, and `writable_out`, its only way to hand back files. Treat
    everything it writes there as hostile data (see `autograder.sandbox.artifacts`).

    Example:
        >>> result = run_sandboxed(                                          # doctest: +SKIP
        ...     PythonEntry(module="worker", args=("part_one",)),
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
        cgroup_parent: Where to make the run's cgroup: a v2 folder, v1 folders (one per
            hierarchy) joined with ":", or a path relative to every hierarchy's root, e.g.
            `parent_setting(delegate_cgroup(...))` for an unprivileged grader; "off" for
            none. None reads `COURSE_SANDBOX_CGROUP`, else the sandbox picks one (see
            `cgroups.py`). Without a cgroup the watchdog enforces memory, and the result's
            `isolation.limits` is "watchdog" (with a warning).

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
    # A root grader never runs code as root, at any level: the code gets a user id of its own,
    # which owns nothing on the host and which RLIMIT_NPROC binds (it binds every uid but root).
    privileged = os.geteuid() == 0 and sys.platform.startswith("linux")
    uid = isolation.allocate_run_uid() if privileged else None
    workdir = Path(os.path.abspath(workdir))
    if not workdir.is_dir():
        raise FileNotFoundError(f"Expected `workdir` to be an existing folder. Received: workdir={str(workdir)!r}")
    out = prepare_out_dir(writable_out, uid)
    scratch = Path(tempfile.mkdtemp(prefix="autograder-sandbox-"))
    request = _Request(
        level, uid, argv, workdir, readable, out, hidden, limits, env or {}, devices, scratch, cgroup_parent
    )
    try:
        unreachable = _unreachable_for_run_user(request) if level is IsolationLevel.PLAIN and uid is not None else []
        if unreachable:
            result = _refused(request, unreachable)
        else:
            prefix, spec = _plan(request)
            result = _execute(request, prefix, spec)
    finally:
        if uid is not None:
            reclaim_out_dir(out)
            if level is IsolationLevel.PLAIN:
                _remove_shared_memory_of(uid)
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def _plan(request: _Request) -> tuple[list[str], dict]:
    """The command prefix (bwrap or nothing) and the launcher's JSON spec for one run."""
    level, limits = request.level, request.limits
    isolated = level is not IsolationLevel.PLAIN
    tmp = "/tmp" if isolated else str(_mkdir(request.scratch / "tmp", request.uid))
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
        "rlimits": _rlimits(level, limits, request.uid),
        "uid": request.uid,
        "gid": request.uid,
        "host_pid_ns": _pid_ns(),
        "mounts": [],
        "view_root": None,
        "seccomp": _seccomp_hex(),
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


def _unreachable_for_run_user(request: _Request) -> list[str]:
    """What the run's own user id could not reach at the plain level (no view of its own)."""
    program = request.argv[0] if os.path.isabs(request.argv[0]) else shutil.which(request.argv[0]) or request.argv[0]
    wanted = [(program, 0o001), (str(request.workdir), 0o005), (str(request.out), 0)]
    wanted += [(str(path), 0o005 if os.path.isdir(path) else 0o004) for path in request.readable]
    # A missing program is the launcher's to report (FileNotFoundError), as at every level.
    return [path for path, need in wanted if os.path.exists(path) and not isolation.reachable_by_others(path, need)]


def _refused(request: _Request, unreachable: list[str]) -> SandboxResult:
    """The result of a plain run as root that cannot start: its user id cannot reach its files."""
    detail = (
        "As root, the plain level runs the code under an unprivileged user id of its own, with no view "
        "of its own: every folder above the program, its Python installation, the workdir, the readable "
        "paths and writable_out must be passable by all users (mode o+x), and the inputs readable "
        f"(o+r); or install bubblewrap. Received unreachable paths: {unreachable}."
    )
    empty = CapturedOutput(text="", total_bytes=0, dropped_bytes=0)
    return SandboxResult(
        outcome=Outcome.SANDBOX_ERROR,
        exit_code=None,
        signal=None,
        timed_out=False,
        memory_exceeded=False,
        killed=False,
        duration_s=0.0,
        peak_memory_bytes=0,
        stdout=empty,
        stderr=empty,
        isolation=isolation.report_for(request.level, request.uid, limits="none", syscall_filter=False),
        stray_processes_killed=0,
        message=describe(Outcome.SANDBOX_ERROR, None, None, detail),
    )


def _rlimits(level: IsolationLevel, limits: Limits, uid: int | None) -> dict[str, tuple[int, int]]:
    """The rlimits of the code.

    `RLIMIT_NPROC` counts every task of the code's user. A run with a user id of its own (root
    graders) gets `max_processes`. Code that runs as the grader's own user (the plain level
    without root) shares the count with the grader's tasks, so it gets the grader's current
    task count on top. So does bubblewrap's user-namespace mode on kernels before 5.14, which
    count a user's tasks across user namespaces; since 5.14 the count inside the sandbox's
    user namespace is its own. The pids cgroup, where there is one, binds exactly anyway.
    """
    if not sys.platform.startswith("linux"):
        rlimits = limits.rlimits()
        rlimits.pop("RLIMIT_NPROC")  # per user there, with no way to count the user's other tasks
        return rlimits
    if uid is not None:
        return limits.rlimits()
    if level is IsolationLevel.PLAIN or not _per_userns_nproc():
        return limits.rlimits(nproc=procs.count_user_tasks(os.getuid()) + limits.max_processes)
    return limits.rlimits()


@functools.lru_cache(maxsize=None)
def _per_userns_nproc() -> bool:
    """True when this kernel counts RLIMIT_NPROC per user namespace (Linux 5.14 and later)."""
    try:
        major, minor = (int(part) for part in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


@functools.lru_cache(maxsize=None)
def _seccomp_hex() -> str | None:
    """The seccomp filter for this machine's architecture, hex-encoded for the launcher."""
    return seccomp.build_filter().hex() if seccomp.machine() else None


def _execute(request: _Request, prefix: list[str], spec: dict) -> SandboxResult:
    """Start the launcher, watch it, kill everything at the end, and classify how it ended."""
    group, no_cgroup = cgroups.create_run_cgroup(request.limits, request.cgroup_parent)
    try:
        return _execute_in(request, prefix, spec, group, no_cgroup)
    finally:
        if group is not None:
            group.remove()


def _execute_in(
    request: _Request, prefix: list[str], spec: dict, group: cgroups.RunCgroup | None, no_cgroup: str
) -> SandboxResult:
    limits, uid = request.limits, request.uid
    read_fd, write_fd = os.pipe()
    spec["status_fd"] = write_fd
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER_SOURCE, json.dumps(spec)]
    argv = [*prefix, *launcher]
    if group is not None:
        argv = group.wrap(argv)
    plain_tmp = request.scratch / "tmp" if request.level is IsolationLevel.PLAIN else None
    shared = SharedMemory(plain_tmp=plain_tmp, host_shm_uid=uid if plain_tmp is not None else None)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
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
        watch = watch_run(proc, limits, request.out, uid, started, group=group, shared=shared)
    except BaseException:  # Ctrl-C or an error in the grader: never leave the run behind
        procs.kill_family(proc.pid, uid)
        if group is not None:
            group.kill_all()
        proc.wait()
        os.close(read_fd)
        raise
    strays = procs.kill_family(proc.pid, uid)
    if group is not None:
        strays += group.kill_all()
    duration = time.monotonic() - started
    status = _read_status(read_fd)
    stdout, stderr = (capture.result() for capture in captures)
    oom_kills = group.oom_kills() if group is not None else 0
    outcome, exit_code, sig, detail = _classify(proc.returncode, status, watch, stderr.text, limits, oom_kills)
    if outcome is Outcome.SANDBOX_ERROR and request.level is IsolationLevel.PLAIN and uid is not None:
        detail += (
            " (As root, the plain level runs the code under an unprivileged user id of its own: the "
            "program and its Python installation must be readable by all users; or install bubblewrap.)"
        )
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
        isolation=isolation.report_for(
            request.level,
            uid,
            limits=group.label if group is not None else "watchdog",
            no_cgroup_reason=no_cgroup,
            syscall_filter=spec.get("seccomp") is not None,
            poll_interval_s=limits.poll_interval_s,
        ),
        stray_processes_killed=int(status.get("strays") or 0) + strays,
        message=describe(outcome, exit_code, sig, detail),
    )


def _classify(
    returncode: int | None, status: dict, watch: Watch, stderr: str, limits: Limits, oom_kills: int = 0
) -> tuple[Outcome, int | None, int | None, str]:
    """(outcome, exit code, signal, detail) from the watchdog's verdict and the launcher's report."""
    if watch.killed_for is not None:
        return watch.killed_for, None, int(signal.SIGKILL), watch.detail
    if oom_kills:
        return Outcome.MEMORY, None, int(signal.SIGKILL), oom_detail(limits, oom_kills)
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


def _mkdir(path: Path, owner: int | None = None) -> Path:
    path.mkdir(mode=0o700)
    if owner is not None:
        os.chmod(path.parent, 0o711)  # the run's user may pass through the scratch folder, not list it
        os.chown(path, owner, owner)
    return path


def _remove_shared_memory_of(uid: int) -> None:
    """Delete what a plain run under its own user id left in the host's `/dev/shm`."""
    try:
        entries = list(os.scandir("/dev/shm"))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_uid == uid:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        except OSError:
            continue


def _pid_ns() -> int | None:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
