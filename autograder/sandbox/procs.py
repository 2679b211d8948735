"""Finding, measuring and killing every process of one sandboxed run (Linux `/proc`).

A run's processes are the launcher's descendants, the members of its process group, and, when
the code runs under a user id of its own, every process of that user id: a forked child that
calls `setsid()` or is orphaned still belongs to the run by one of these. On systems without
`/proc` the functions see nothing, and the caller falls back to killing the process group.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class ProcInfo:
    """One process as seen in `/proc`: state, parent, group, user id, resident bytes, threads, and its
    start time (clock ticks after boot: with the pid, it names one process even when pids are reused)."""

    pid: int
    state: str
    ppid: int
    pgrp: int
    uid: int
    rss_bytes: int
    threads: int
    start: int


def _read(pid: int) -> ProcInfo | None:
    folder = _PROC / str(pid)
    try:
        stat = (folder / "stat").read_bytes()
        # The owner of /proc/PID is the process's effective uid (root for non-dumpable ones,
        # which then still belong to the run as descendants of its launcher).
        uid = os.stat(folder).st_uid
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        state, ppid, pgrp, threads, start, rss = (
            fields[0].decode(),
            int(fields[1]),
            int(fields[2]),
            int(fields[17]),
            int(fields[19]),
            int(fields[21]),
        )
    except (IndexError, ValueError):
        return None
    return ProcInfo(pid, state, ppid, pgrp, uid, rss * _PAGE, threads, start)


def snapshot() -> dict[int, ProcInfo]:
    """Every process currently visible in `/proc` (empty where there is no `/proc`)."""
    try:
        names = os.listdir(_PROC)
    except OSError:
        return {}
    infos = (_read(int(name)) for name in names if name.isdigit())
    return {info.pid: info for info in infos if info is not None}


def family(root_pid: int, uid: int | None = None, procs: dict[int, ProcInfo] | None = None) -> dict[int, ProcInfo]:
    """The processes of one run: descendants of `root_pid`, its group, and (if given) `uid`'s."""
    if uid is not None and uid in (0, os.getuid()):
        raise ValueError(f"Expected the sandbox's own user id, never root's or the grader's. Received: uid={uid}")
    procs = snapshot() if procs is None else procs
    children: dict[int, list[int]] = {}
    for info in procs.values():
        children.setdefault(info.ppid, []).append(info.pid)
    members = {pid for pid, info in procs.items() if info.pgrp == root_pid or (uid is not None and info.uid == uid)}
    if root_pid in procs:
        members.add(root_pid)
    stack = list(members)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    return {pid: procs[pid] for pid in members}


def count_user_tasks(uid: int) -> int:
    """How many processes and threads `uid` has now (what `RLIMIT_NPROC` counts)."""
    return sum(max(info.threads, 1) for info in snapshot().values() if info.uid == uid)


def kill_family(root_pid: int, uid: int | None = None, *, rounds: int = 200) -> int:
    """SIGKILL the run's processes until none is left; return how many distinct pids were killed.

    Repeats because a fork bomb may fork between a scan and a kill; every round kills all it
    sees, and `RLIMIT_NPROC` bounds how many new ones can appear.
    """
    killed: set[int] = set()
    _killpg(root_pid)
    for _ in range(rounds):
        members = family(root_pid, uid)
        members.pop(os.getpid(), None)
        alive = [pid for pid, info in members.items() if info.state not in ("Z", "X")]
        if not alive:
            break
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
    return len(killed)


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
