"""What one sandboxed run reports back: how it ended, its bounded output and the isolation used."""

from __future__ import annotations

import enum
import signal as signal_module
from dataclasses import dataclass


class Outcome(str, enum.Enum):
    """Why a sandboxed run ended. Exactly one per run; the first limit hit wins."""

    OK = "ok"
    """Exited with status 0."""
    EXIT_NONZERO = "exit_nonzero"
    """Exited with a non-zero status (an exception, `sys.exit(1)`, `os._exit(3)`)."""
    SIGNALED = "signaled"
    """Killed by a signal it did not get from the sandbox (a crash, or one it sent itself)."""
    TIMEOUT = "timeout"
    """Killed by the sandbox at the wall-clock limit."""
    CPU_TIME = "cpu_time"
    """Stopped by the kernel at the CPU-time limit (`SIGXCPU`)."""
    MEMORY = "memory"
    """Stopped at the memory limit: the kernel's OOM killer in the run's cgroup, the memory
    watchdog, or a `MemoryError` at the per-process limit."""
    OUT_DIR_FULL = "out_dir_full"
    """Killed by the sandbox because `writable_out` grew beyond its limit."""
    SANDBOX_ERROR = "sandbox_error"
    """The sandbox itself could not start the code (its message says why)."""


class IsolationLevel(str, enum.Enum):
    """How strongly untrusted code is separated from the grader, strongest first."""

    BWRAP = "bwrap"
    """bubblewrap: private mount view (only allowed paths), no network, own PID namespace."""
    NAMESPACES = "namespaces"
    """unshare(2) as root: own mount, network and PID namespaces, chroot into the allowed view."""
    PLAIN = "plain"
    """A plain subprocess with resource limits only (a student's laptop). Weak."""

    @property
    def strength(self) -> int:
        """A number that orders levels: higher is stronger."""
        return {IsolationLevel.BWRAP: 3, IsolationLevel.NAMESPACES: 2, IsolationLevel.PLAIN: 1}[self]


@dataclass(frozen=True)
class IsolationReport:
    """The isolation a run actually used, in words a TA can act on.

    Args:
        level: The level used.
        uid: The user id the code ran as on the host (None: the caller's own).
        hides_paths: Whether hidden paths were unreadable to the code.
        blocks_network: Whether the code had no network.
        warnings: Plain-language caveats (a weak level always has one, and so has a run
            whose limits only the watchdog enforced).
        limits: What enforced the run's memory, process and CPU limits: "cgroup v2" or
            "cgroup v1" (the kernel, shared memory counted, a CPU quota) or "watchdog"
            (rlimits and polling; no CPU quota), or "none" for a run refused before it started.
        syscall_filter: Whether the seccomp filter denied the dangerous system calls
            (new namespaces, mount, ptrace, ...).
    """

    level: IsolationLevel
    uid: int | None
    hides_paths: bool
    blocks_network: bool
    warnings: tuple[str, ...] = ()
    limits: str = "watchdog"
    syscall_filter: bool = False

    @property
    def is_strong(self) -> bool:
        """True when hidden files and the network were out of reach of the code."""
        return self.hides_paths and self.blocks_network


@dataclass(frozen=True)
class CapturedOutput:
    """One output stream of the run, bounded: its head and tail, and how much was dropped.

    Args:
        text: The kept bytes decoded as UTF-8 (invalid bytes replaced), with a marker line
            where the middle was dropped.
        total_bytes: How many bytes the code wrote to the stream.
        dropped_bytes: How many of them are not in `text`.
    """

    text: str
    total_bytes: int
    dropped_bytes: int

    @property
    def truncated(self) -> bool:
        """True when part of the stream was dropped."""
        return self.dropped_bytes > 0


@dataclass(frozen=True)
class SandboxResult:
    """How one sandboxed run ended, and what it printed.

    Args:
        outcome: Why it ended (see `Outcome`).
        exit_code: The exit status, or None when a signal ended it.
        signal: The signal number that ended it, or None.
        timed_out: The wall-clock limit was hit.
        memory_exceeded: The memory limit was hit (watchdog or `MemoryError`).
        killed: The sandbox killed the code (timeout, memory, output folder).
        duration_s: Wall-clock seconds from start to the end of the last process.
        peak_memory_bytes: The largest resident memory of the process tree the watchdog saw.
        stdout: Bounded standard output.
        stderr: Bounded standard error.
        isolation: The isolation used.
        stray_processes_killed: Processes still alive after the main one ended, killed by
            the sandbox (background children, escaped forks).
        message: One human-readable line on how it ended.
    """

    outcome: Outcome
    exit_code: int | None
    signal: int | None
    timed_out: bool
    memory_exceeded: bool
    killed: bool
    duration_s: float
    peak_memory_bytes: int
    stdout: CapturedOutput
    stderr: CapturedOutput
    isolation: IsolationReport
    stray_processes_killed: int
    message: str

    @property
    def ok(self) -> bool:
        """True when the code exited by itself with status 0."""
        return self.outcome is Outcome.OK


def signal_name(number: int) -> str:
    """`SIGKILL` for 9, or `signal 64` for a number without a name."""
    try:
        return signal_module.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe(outcome: Outcome, exit_code: int | None, sig: int | None, detail: str = "") -> str:
    """The one-line `message` of a result, e.g. "Timed out after 2.0 s (wall-clock limit)."."""
    if outcome is Outcome.OK:
        return "Exited normally with status 0."
    if outcome is Outcome.EXIT_NONZERO:
        return f"Expected exit status 0. Received: exit_code={exit_code}."
    if outcome is Outcome.SIGNALED:
        return f"Expected a normal exit. Received: signal={signal_name(sig or 0)}."
    text = {
        Outcome.TIMEOUT: "Killed at the wall-clock limit.",
        Outcome.CPU_TIME: "Stopped at the CPU-time limit.",
        Outcome.MEMORY: "Stopped at the memory limit.",
        Outcome.OUT_DIR_FULL: "Killed: the output folder grew beyond its limit.",
        Outcome.SANDBOX_ERROR: "The sandbox could not run the code.",
    }[outcome]
    return f"{text} {detail}".strip()
