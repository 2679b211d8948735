"""Which isolation this machine offers, probed once per process, and the strongest one chosen.

- `bwrap`: bubblewrap is installed and works here. As root it runs privileged and the code
  runs under a user id of its own (chosen per run, owning nothing on the host); otherwise a
  user namespace maps the caller to `nobody`.
- `namespaces`: no bubblewrap, but the grader is root on Linux: the launcher unshares mount,
  network, PID, IPC and UTS namespaces itself, builds the same view and chroots into it.
- `plain`: anything else (a student's laptop): a subprocess with resource limits. It cannot
  hide files or block the network, and says so.
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
    "bubblewrap is not installed; isolated with unshare(2) namespaces and a chroot instead "
    "(no seccomp filter). Install bubblewrap for the strongest isolation."
)
ROOT_PLAIN_WARNING = (
    "The plain level is running as root: RLIMIT_NPROC does not bind root, so only the memory "
    "watchdog stands between a fork bomb and this machine."
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


def report_for(level: IsolationLevel, uid: int | None) -> IsolationReport:
    """The `IsolationReport` a run at `level` carries."""
    if level is IsolationLevel.PLAIN:
        caveats = (PLAIN_WARNING, ROOT_PLAIN_WARNING) if os.geteuid() == 0 else (PLAIN_WARNING,)
        return IsolationReport(level, None, hides_paths=False, blocks_network=False, warnings=caveats)
    if level is IsolationLevel.NAMESPACES:
        caveats = (NAMESPACES_WARNING,)
    else:
        caveats = (USERNS_WARNING,) if uid is None else ()
    return IsolationReport(level, uid, hides_paths=True, blocks_network=True, warnings=caveats)
