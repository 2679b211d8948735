"""Grading children: the processes that load and train student models, out of the batch's reach.

`course grade` (the parent) never calls `Grader.grade` itself. Each job is a child process that
builds one `Grader` and grades the submissions the parent sends it, one at a time, answering
with `SubmissionResult.to_dict()` as one JSON line on a pipe: the parent never unpickles what
a child sends, validates it, and writes every output itself.

- **Not root.** When the parent is root, a child runs as an unprivileged user (default
  `course-grader`, made by `scripts/install-system-deps.sh`; `--user NAME` otherwise) that
  cannot write the solutions, the calibrations, the cached inputs or the engine (the child
  checks this and refuses to start otherwise). Folders it must read that sit under a folder it
  cannot enter (a Python in `/root/.pyenv`) are bound, read-only to it, into a private mount
  namespace whose covering folder hides everything else there. Its sandbox runs then use
  bubblewrap's unprivileged (user-namespace) mode. When the parent is not root, nothing drops.
- **Limits.** A child gets a wall-clock limit per submission and a resident-memory cap; one
  that exceeds them, crashes or answers garbage is killed with its processes, that submission
  gets a failed row naming the reason, and a fresh child grades the rest.
"""

from __future__ import annotations

import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_USER = "course-grader"
READY_SECONDS = 900.0  # starting a child: importing Keras and building its Grader
MAX_MESSAGE = 256 * 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


class GradingSetupError(RuntimeError):
    """The batch cannot grade anything (no grading user, unreadable inputs): the message says why."""


class ChildFailure(RuntimeError):
    """One submission's child died, hung, exceeded its memory or answered garbage."""


@dataclass(frozen=True)
class ChildSpec:
    """How to start a grading child.

    Attributes:
        options: `BatchOptions` fields as JSON (paths as strings) for the child's `Grader`.
        seconds: wall-clock limit per submission.
        memory_bytes: resident-memory cap of the child process itself (its sandboxes have their own).
        uid, gid: the user to drop to, or None to keep the parent's (not root).
        masks: [(folder the user cannot enter, [paths under it the child needs])].
        readable: paths the child must be able to read (checked before it starts grading).
        read_only: paths the child must not be able to write (checked likewise).
    """

    options: dict
    seconds: float
    memory_bytes: int
    uid: int | None = None
    gid: int | None = None
    user: str = ""
    masks: tuple = ()
    readable: tuple = ()
    read_only: tuple = ()


# -- choosing the user and what it must reach --------------------------------------------------


def grading_user(requested: str | None) -> pwd.struct_passwd | None:
    """The user children run as: None when the parent is not root (nothing to drop).

    Raises:
        GradingSetupError: root without that user, or a user that is root itself.
    """
    if os.geteuid() != 0:
        return None
    name = requested or DEFAULT_USER
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise GradingSetupError(
            f"Expected an unprivileged user {name!r} to grade as (course grade started as root drops to it). "
            f"Received: no such user. Run `scripts/install-system-deps.sh` (creates {DEFAULT_USER}) or pass --user NAME."
        ) from None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise GradingSetupError(f"Expected an unprivileged user to grade as. Received: {name!r} (uid {entry.pw_uid}, gid {entry.pw_gid})")
    return entry


def _enterable(path: Path, uid: int, gids: set[int]) -> bool:
    info = path.stat()
    if info.st_uid == uid:
        return bool(info.st_mode & 0o100)
    if info.st_gid in gids:
        return bool(info.st_mode & 0o010)
    return bool(info.st_mode & 0o001)


def masks_for(paths: list[Path], uid: int, gids: set[int]) -> tuple:
    """[(the first folder the user cannot enter, [needed paths under it])] for `paths`."""
    masks: dict[str, set[str]] = {}
    for path in sorted({Path(os.path.realpath(p)) for p in paths if os.path.exists(p)}):
        for ancestor in reversed(path.parents):
            if ancestor != Path("/") and not _enterable(ancestor, uid, gids):
                masks.setdefault(str(ancestor), set()).add(str(path))
                break
    result = []
    for mask, keep in sorted(masks.items()):
        # A path inside another kept path comes with it.
        outer = sorted(k for k in keep if not any(k != o and k.startswith(o.rstrip("/") + "/") for o in keep))
        result.append((mask, outer))
    return tuple(result)


# Runs as root in a fresh interpreter (no threads, nothing imported): the private mount
# namespace, then the drop, then the parent-death signal, then the real child.
TRAMPOLINE = r"""
import ctypes, json, os, signal, sys
spec = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
def ok(code, what):
    if code != 0:
        err = ctypes.get_errno()
        sys.stderr.write("grading child: %s failed: %s\n" % (what, os.strerror(err)))
        os._exit(70)
if spec["masks"]:
    ok(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
    ok(libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None), "making / private")
    for mask, keep in spec["masks"]:
        fds = [os.open(p, os.O_PATH) for p in keep]
        ok(libc.mount(b"tmpfs", mask.encode(), b"tmpfs", 0x2 | 0x4, b"mode=0755,size=1m"), "covering " + mask)
        for path, fd in zip(keep, fds):
            if os.path.isdir("/proc/self/fd/%d" % fd):
                os.makedirs(path, 0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
                open(path, "a").close()
            ok(libc.mount(("/proc/self/fd/%d" % fd).encode(), path.encode(), None, 0x1000 | 0x4000, None), "binding " + path)
            os.close(fd)
        ok(libc.mount(None, mask.encode(), None, 0x20 | 0x1 | 0x2 | 0x4, None), "making " + mask + " read-only")
if spec["uid"] is not None:
    os.setgroups([])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])
    if os.getuid() == 0 or os.geteuid() == 0:
        os._exit(71)
libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the child dies with the batch
if os.getppid() != spec["parent"]:
    os._exit(72)
os.execv(spec["argv"][0], spec["argv"])
"""


# -- the parent's handle on one child ----------------------------------------------------------


class Child:
    """One grading child: started on demand, fed one submission at a time, killed on any failure."""

    def __init__(self, spec: ChildSpec, home_root: Path) -> None:
        self.spec = spec
        self.home_root = home_root
        self.process: subprocess.Popen | None = None
        self.reader: int | None = None
        self.home: Path | None = None
        self.log: Path | None = None
        self.buffer = b""
        self.cgroup: str | None = None  # a delegated cgroup parent for the sandbox runs
        self.extra_env: dict[str, str] = {}  # its GPU and memory settings (autograder.grading.gpus)

    # starting and stopping

    def _start(self) -> None:
        home = Path(tempfile.mkdtemp(prefix="child-", dir=self.home_root))
        (home / "tmp").mkdir()
        if self.spec.uid is not None:
            for folder in (home, home / "tmp"):
                os.chown(folder, self.spec.uid, self.spec.gid)
        for folder in (home, home / "tmp"):
            # Passable, not listable: at the plain level a root child's sandbox runs each part as a
            # user id of its own, which must reach its run folder (random name) under TMPDIR.
            os.chmod(folder, 0o711)
        self.home = home
        handle, log = tempfile.mkstemp(prefix="child-", suffix=".log", dir=self.home_root)
        os.close(handle)
        self.log = Path(log)
        read_fd, write_fd = os.pipe()
        env = {**os.environ, "HOME": str(home), "TMPDIR": str(home / "tmp"), "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
               "MPLCONFIGDIR": str(home / "tmp"), "PYTHONDONTWRITEBYTECODE": "1"}
        if self.cgroup:
            env["COURSE_SANDBOX_CGROUP"] = self.cgroup
        env.update(self.extra_env)
        argv = [sys.executable, "-m", "autograder.grading.jobs", str(write_fd)]
        spec = {"masks": [list(m) for m in self.spec.masks], "uid": self.spec.uid, "gid": self.spec.gid,
                "parent": os.getpid(), "argv": argv}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", TRAMPOLINE, json.dumps(spec)],
                stdin=subprocess.PIPE, stdout=log, stderr=log, pass_fds=(write_fd,), env=env, cwd="/",
                start_new_session=True, close_fds=True,
            )
        os.close(write_fd)
        self.reader = read_fd
        self.buffer = b""
        hello = {"options": self.spec.options, "readable": list(self.spec.readable), "read_only": list(self.spec.read_only),
                 "user": self.spec.user}
        self._send(hello)
        message = self._receive(READY_SECONDS, "starting")
        if not message.get("ready"):
            raise GradingSetupError(str(message.get("error", "the grading child did not start"))[:4000])

    def stop(self) -> None:
        """Kill the child and everything it started; remove its private folders."""
        if self.process is not None:
            from autograder.sandbox import procs  # noqa: PLC0415  (keeps `course --help` light)

            procs.kill_family(self.process.pid)
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
            self.process.wait()
            if self.process.stdin:
                try:
                    self.process.stdin.close()
                except OSError:
                    pass
        if self.reader is not None:
            os.close(self.reader)
        for path in (self.home, self.log):
            if path is not None and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path is not None:
                path.unlink(missing_ok=True)
        self.process = self.reader = self.home = self.log = None

    # talking to it

    def _send(self, message: dict) -> None:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ChildFailure(f"the grading child exited before it was sent work{self._log_tail()}") from None

    def _log_tail(self, size: int = 1500) -> str:
        try:
            with open(self.log, "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - size))
                text = handle.read().decode("utf-8", "replace").strip()
        except (OSError, TypeError):
            return ""
        return f"; its last output: {text}" if text else ""

    def _rss(self) -> int:
        try:
            with open(f"/proc/{self.process.pid}/statm", "rb") as handle:
                return int(handle.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return 0

    def _receive(self, seconds: float, doing: str) -> dict:
        deadline = time.monotonic() + seconds
        peak = 0
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChildFailure(f"the grading child took longer than {seconds:.0f} s {doing}; it was stopped")
            ready, _, _ = select.select([self.reader], [], [], min(0.5, left))
            peak = max(peak, self._rss())
            if peak > self.spec.memory_bytes:
                raise ChildFailure(
                    f"the grading child used more than {self.spec.memory_bytes / 2**30:.1f} GiB of memory {doing} "
                    f"({peak / 2**30:.1f} GiB); it was stopped"
                )
            if not ready:
                if self.process.poll() is not None:
                    raise ChildFailure(self._died(doing))
                continue
            chunk = os.read(self.reader, 1 << 20)
            if not chunk:
                self.process.wait()
                raise ChildFailure(self._died(doing))
            self.buffer += chunk
            if len(self.buffer) > MAX_MESSAGE:
                raise ChildFailure(f"the grading child sent more than {MAX_MESSAGE // 2**20} MiB {doing}; it was stopped")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            raise ChildFailure(f"the grading child answered something other than JSON {doing}") from None
        if not isinstance(message, dict):
            raise ChildFailure(f"the grading child answered something other than a JSON object {doing}")
        return message

    def _died(self, doing: str) -> str:
        code = self.process.wait()
        how = f"was killed by signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exited with code {code}"
        return f"the grading child {how} {doing}{self._log_tail()}"

    def grade(self, folder: Path, name: str) -> dict:
        """The child's `SubmissionResult.to_dict()` for one submission.

        Raises:
            ChildFailure: the child failed (it is stopped; the next call starts a fresh one).
            GradingSetupError: a fresh child could not start at all.
        """
        if self.process is None or self.process.poll() is not None:
            self.stop()
            try:
                self._start()
            except ChildFailure as exc:
                self.stop()
                raise GradingSetupError(f"The grading child could not start: {exc}") from None
            except BaseException:
                self.stop()
                raise
        try:
            self._send({"folder": str(folder), "name": name})
            message = self._receive(self.spec.seconds, f"grading {name}")
        except BaseException:
            self.stop()
            raise
        if message.get("ok") is True and isinstance(message.get("result"), dict):
            return message["result"]
        error = message.get("error")
        raise ChildFailure(f"grading raised {str(error)[:2000]}" if isinstance(error, str) else "the grading child answered no result")


def delegated_cgroup(uid: int, gid: int) -> str | None:
    """As root, a cgroup subtree the grading user may make its sandbox runs' groups in.

    The children then run the sandbox with `COURSE_SANDBOX_CGROUP` set to it, so memory
    (tmpfs, /dev/shm and memfd included), process and CPU limits bind through the kernel even
    though the children are not root. None where the machine has no usable cgroups: the
    sandbox then names the weaker (watchdog) level in every result.
    """
    from autograder.sandbox.cgroups import CONTROLLERS, CgroupError, delegate_cgroup, parent_setting, v2_root  # noqa: PLC0415

    root = v2_root()
    try:
        v2 = root is not None and set(CONTROLLERS) <= set((root / "cgroup.controllers").read_text().split())
        return parent_setting(delegate_cgroup("autograder-grading", uid, gid, move_self=v2))
    except (CgroupError, OSError):
        return None


class ChildPool:
    """`jobs` children, each used by one thread at a time."""

    def __init__(self, spec: ChildSpec, jobs: int, environments: list[dict[str, str]] | None = None) -> None:
        """`environments[i]`: what child i adds to its environment (its GPU: `gpus.child_environments`)."""
        self.home_root = Path(tempfile.mkdtemp(prefix="course-grading-children-"))
        os.chmod(self.home_root, 0o711)  # the user enters its own home only
        self.free = [Child(spec, self.home_root) for _ in range(max(1, jobs))]
        for child, extra in zip(self.free, environments or (), strict=False):
            child.extra_env = dict(extra)
        self.lock = threading.Lock()
        cgroup = delegated_cgroup(spec.uid, spec.gid) if spec.uid is not None else None
        for child in self.free:
            child.cgroup = cgroup

    def take(self) -> Child:
        with self.lock:
            return self.free.pop()

    def give(self, child: Child) -> None:
        with self.lock:
            self.free.append(child)

    def close(self) -> None:
        for child in self.free:
            child.stop()
        shutil.rmtree(self.home_root, ignore_errors=True)


# -- the child's side ----------------------------------------------------------------------------


def _check_access(readable: list[str], read_only: list[str], user: str) -> None:
    unreadable = [p for p in readable if os.path.exists(p) and not os.access(p, os.R_OK | (os.X_OK if os.path.isdir(p) else 0))]
    missing = [p for p in readable if not os.path.exists(p) and _parent_exists(p)]
    if unreadable or missing:
        who = f"the grading user {user!r}" if user else "the grading process"
        raise GradingSetupError(
            f"Expected the data, weights, cache, course files and Python to be readable by {who}. "
            f"Received: unreadable: {_listed(unreadable + missing)}. Make them readable (e.g. `chmod -R o+rX PATH`) "
            "or grade with --user NAME for a user who can read them."
        )
    writable = [p for p in read_only if os.path.exists(p) and os.access(p, os.W_OK)]
    if writable and os.getuid() != 0 and user:
        raise GradingSetupError(
            f"Expected the solutions, calibrations, cached inputs and engine to be read-only to the grading user {user!r}. "
            f"Received: writable: {_listed(writable)}. Make them owned by root and not writable by that user."
        )


def _listed(paths: list[str], shown: int = 6) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _parent_exists(path: str) -> bool:
    # A path that cannot even be stat-ed because a folder above it is closed.
    try:
        os.stat(path)
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def child_main(result_fd: int) -> None:
    """Grade what the parent sends on stdin; answer JSON lines on `result_fd`."""
    sink = os.fdopen(result_fd, "wb", buffering=0)

    def send(message: dict) -> None:
        sink.write(json.dumps(message, allow_nan=True).encode() + b"\n")

    hello = json.loads(sys.stdin.buffer.readline())
    try:
        _check_access(hello["readable"], hello["read_only"], hello["user"])
        from autograder.grading.batch import BatchOptions, make_grader  # noqa: PLC0415

        grader = make_grader(BatchOptions.from_json(hello["options"]))
    except Exception as exc:  # noqa: BLE001  (the parent reports it and stops the batch)
        text = str(exc) if isinstance(exc, GradingSetupError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, PermissionError):
            text = (f"the grading user {hello['user']!r} cannot read {exc.filename}: make it readable to that user "
                    f"or grade with --user NAME ({type(exc).__name__}: {exc})")
        send({"ready": False, "error": text})
        return
    send({"ready": True, "uid": os.getuid(), "pid": os.getpid()})
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            result = grader.grade(Path(request["folder"]))
            result.submission = request["name"]
            send({"ok": True, "result": result.to_dict()})
        except Exception as exc:  # noqa: BLE001  (any failure is that submission's, reported to the parent)
            send({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]})


def spec_options(options) -> dict:
    """`BatchOptions` as JSON for a child."""
    return {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(options).items()}


if __name__ == "__main__":
    child_main(int(sys.argv[1]))
