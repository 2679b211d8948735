"""Which isolation this machine offers, probed once per process, and the strongest one chosen.

What each level guarantees (every run's `IsolationReport` names its level, who the code ran
as, what enforced its limits, and a warning for anything weaker than the best):

- `bwrap`: bubblewrap is installed and works here. The code sees only the system, its Python,
  its inputs (read-only) and its output folder; hidden paths are covered; no network; own
  PID, IPC and UTS namespaces. As root bubblewrap runs privileged and the code runs under a
  user id of its own (chosen per run, owning nothing on the host); otherwise a user
  namespace maps the caller to `nobody` (with `--disable-userns`).
- `namespaces`: no bubblewrap, but the grader is root on Linux: the launcher unshares mount,
  network, PID, IPC and UTS namespaces itself, builds the same view and chroots into it; the
  code runs under a user id of its own.
- `plain`: anything else (a container without user namespaces, a student's laptop): a
  subprocess with resource limits. It cannot hide files readable by the code's user or block
  the network, and says so. As root the code still runs under a user id of its own (never
  as root): root-only files (mode 0600/0700) stay unreadable, it cannot write the grader's
  files, and `RLIMIT_NPROC` binds. That user must be able to read the program and its Python.

At every level on Linux (x86_64, aarch64): `PR_SET_NO_NEW_PRIVS` and a seccomp filter
(`seccomp.py`) deny new namespaces (user namespaces included, also for a root grader), mounts,
ptrace and the other dangerous system calls. Limits bind through the run's own cgroup where
the machine offers one (`limits` = "cgroup v2" / "cgroup v1": memory with tmpfs, shared memory
and memfd counted, `pids.max`, a CPU quota), else through rlimits and a polling watchdog
(`limits` = "watchdog", with a warning: no CPU quota, memory checked between polls).
"""

from __future__ import annotations

import functools
import os
import secrets
import subprocess
import sys

from autograder.sandbox import procs
from autograder.sandbox.bwrap import find_bwrap
from autograder.sandbox.result import IsolationLevel, IsolationReport

# Per-run user ids are drawn from a range no distribution assigns to real users.
RUN_UID_BASE = 1_900_000_000
RUN_UID_SPAN = 100_000_000

PLAIN_WARNING = (
    "Weak isolation: bubblewrap is not available and the grader is not root, so the code ran as "
    "a plain subprocess of your user with resource limits only. It could read any file your user "
    "can read (hidden tests or solutions too, if they are on this machine), use the network, and "
    "change files outside its output folder. Grade with bubblewrap installed "
    "(`apt-get install bubblewrap`) or as root on Linux."
)
NAMESPACES_WARNING = (
    "bubblewrap is not installed; isolated with unshare(2) namespaces and a chroot instead. "
    "Install bubblewrap for the strongest isolation."
)
PLAIN_ROOT_WARNING = (
    "Weak isolation: bubblewrap and namespaces are not available here, so the code ran as a plain "
    "subprocess, under an unprivileged user id of its own (never root) with resource limits. It "
    "cannot read root-only files or write the grader's, but it could read any file readable by all "
    "users and use the network. Grade with bubblewrap installed for hidden paths and no network."
)
WATCHDOG_WARNING = (
    "Limits not enforced by the kernel: no cgroup could be made for this run ({reason}). A "
    "watchdog polling every {poll:g} s enforced the memory limit (resident memory plus memfds and "
    "the private /tmp and /dev/shm), so a burst between two polls can pass it; processes were "
    "limited by RLIMIT_NPROC only, and there was no CPU quota. Run as root, or delegate a cgroup "
    "subtree to the grader (COURSE_SANDBOX_CGROUP), for limits that bind."
)
USERNS_WARNING = (
    "Not root: the code ran as `nobody` in a user namespace that maps to your own user; files "
    "your user can read are unreadable to it only where they are outside the sandbox's view."
)


def _quiet(argv: list[str]) -> bool:
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20, cwd="/"
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.lru_cache(maxsize=None)
def bwrap_works() -> bool:
    """True when `bwrap` is installed and can create this sandbox's namespaces here."""
    bwrap = find_bwrap()
    if bwrap is None or not sys.platform.startswith("linux"):
        return False
    argv = [bwrap, "--unshare-net", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev"]
    if os.geteuid() != 0:
        argv += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    return _quiet([*argv, "--proc", "/proc", "--", sys.executable, "-I", "-S", "-c", "pass"])


@functools.lru_cache(maxsize=None)
def namespaces_work() -> bool:
    """True when this process is root on Linux and may unshare mount/network/PID namespaces."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    code = "import ctypes,sys; sys.exit(ctypes.CDLL(None, use_errno=True).unshare(0x60020000) != 0)"
    return _quiet([sys.executable, "-I", "-S", "-c", code])


def unavailable_reason(level: IsolationLevel) -> str | None:
    """Why `level` cannot be used on this machine, or None when it can."""
    if level is IsolationLevel.BWRAP and not bwrap_works():
        if find_bwrap() is None:
            return "bubblewrap is not installed (install it with `apt-get install bubblewrap`)"
        return "bubblewrap is installed but cannot create namespaces here (user namespaces disabled?)"
    if level is IsolationLevel.NAMESPACES and not namespaces_work():
        return "the grader is not root on Linux, or unshare(2) is not permitted here"
    return None


def available_levels() -> tuple[IsolationLevel, ...]:
    """The levels usable on this machine, strongest first (`plain` is always there)."""
    return tuple(level for level in IsolationLevel if unavailable_reason(level) is None)


def best_level() -> IsolationLevel:
    """The strongest level this machine offers."""
    return available_levels()[0]


def choose_level(requested: IsolationLevel | str | None) -> IsolationLevel:
    """The level to use: `requested` if given (and available), else the strongest available.

    Raises:
        RuntimeError: If `requested` is not available here; the message says why.
    """
    if requested is None:
        return best_level()
    level = IsolationLevel(requested)
    reason = unavailable_reason(level)
    if reason is not None:
        raise RuntimeError(f"Expected isolation level `{level.value}` to be available. Received: {reason}.")
    return level


def allocate_run_uid() -> int:
    """A user id for one run: unassigned, and used by no process right now."""
    import pwd  # POSIX only; this level exists only for root on Linux

    in_use = {info.uid for info in procs.snapshot().values()}
    while True:
        uid = RUN_UID_BASE + secrets.randbelow(RUN_UID_SPAN)
        if uid in in_use:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid


def reachable_by_others(path: str | os.PathLike, need: int = 0o001) -> bool:
    """True when a user with no relation to the owners (a run's own user id) can pass through
    every folder above `path` (as written and after links) and has the `need` permission bits
    (of "others": 0o001 execute, 0o004 read, 0o005 list a folder) on it: what the plain level
    as root needs of the program it runs, its Python installation, its workdir and inputs."""
    absolute = os.path.abspath(path)
    real = os.path.realpath(absolute)
    try:
        if need and os.stat(real).st_mode & need != need:
            return False
        for start in {absolute, real}:
            parent = os.path.dirname(start)
            while True:
                if not os.stat(parent).st_mode & 0o001:
                    return False
                if parent == os.path.dirname(parent):
                    break
                parent = os.path.dirname(parent)
    except OSError:
        return False
    return True


def report_for(
    level: IsolationLevel,
    uid: int | None,
    *,
    limits: str = "watchdog",
    no_cgroup_reason: str = "",
    syscall_filter: bool = False,
    poll_interval_s: float = 0.1,
) -> IsolationReport:
    """The `IsolationReport` a run at `level` carries.

    Args:
        level: The level used.
        uid: The run's own user id, or None.
        limits: What enforced the limits: "cgroup v2", "cgroup v1" or "watchdog".
        no_cgroup_reason: Why there was no cgroup (for the watchdog's warning).
        syscall_filter: Whether the seccomp filter was installed.
        poll_interval_s: The watchdog's polling interval.
    """
    if level is IsolationLevel.PLAIN:
        caveats: tuple[str, ...] = (PLAIN_ROOT_WARNING,) if uid is not None else (PLAIN_WARNING,)
        hides = blocks = False
    else:
        if level is IsolationLevel.NAMESPACES:
            caveats = (NAMESPACES_WARNING,)
        else:
            caveats = (USERNS_WARNING,) if uid is None else ()
        hides = blocks = True
    if limits == "watchdog":
        reason = no_cgroup_reason or "none available"
        caveats += (WATCHDOG_WARNING.format(reason=reason, poll=poll_interval_s),)
    return IsolationReport(
        level,
        uid,
        hides_paths=hides,
        blocks_network=blocks,
        warnings=caveats,
        limits=limits,
        syscall_filter=syscall_filter,
    )
