"""The watchdog of one run: wall clock, memory of the whole run, output-folder size.

The kernel enforces the per-process limits (rlimits) and, where the run has a cgroup, its
memory, processes and CPU (`cgroups.py`): the watchdog then only watches the cgroup's OOM-kill
counter and ends the run as `Outcome.MEMORY` at the first kill. Without a cgroup the watchdog
enforces the memory limit itself, by polling: the resident memory of the run's processes
(shared memory mapped into them included), plus memory held outside any process's RSS: the
memfds they hold open (`/proc/PID/fd` -> `/memfd:...`) and the used size of the run's private
`/tmp` and `/dev/shm` (seen through `/proc/PID/root`; for the plain level, its own `/tmp`
folder and the host `/dev/shm` files of the run's user). This is conservative (shared memory
both mapped and held by a descriptor counts twice) and only as fast as the polling: a burst
between two polls goes unseen until the next. Everything that crosses a limit kills the whole
run, every process of it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import procs
from autograder.sandbox.cgroups import RunCgroup
from autograder.sandbox.limits import Limits
from autograder.sandbox.outdir import MAX_ENTRIES, out_dir_usage
from autograder.sandbox.result import Outcome

_OUT_DIR_CHECK_EVERY_S = 0.5


@dataclass
class Watch:
    """What the watchdog saw and did during one run.

    Args:
        killed_for: The limit it killed the run for, or None.
        peak_rss: The largest total resident memory of the run's processes it measured.
        detail: The "Expected ... Received ..." sentence for the kill.
    """

    killed_for: Outcome | None = None
    peak_rss: int = 0
    detail: str = ""


def oom_detail(limits: Limits, oom_kills: int) -> str:
    """The "Expected ... Received ..." sentence for a run the kernel's OOM killer stopped."""
    return (
        f"Expected at most {limits.memory_bytes} bytes of memory for the whole run (its cgroup counts "
        f"every process, tmpfs and /dev/shm files, memfd and other shared memory). Received: the "
        f"kernel's OOM killer stopped {oom_kills} process(es) of the run at that limit."
    )


@dataclass
class SharedMemory:
    """Measures memory a run holds outside its processes' RSS, for runs without a cgroup.

    Args:
        plain_tmp: The plain level's private `/tmp` folder on the host, or None.
        host_shm_uid: The run's own user id at the plain level (its files in the host's
            `/dev/shm` are its own), or None.
    """

    plain_tmp: Path | None = None
    host_shm_uid: int | None = None
    _host_tmp_dev: int | None = field(default=None, init=False)
    _plain_tmp_bytes: int = field(default=0, init=False)
    _next_tree_walk: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        try:
            self._host_tmp_dev = os.stat("/tmp").st_dev
        except OSError:
            self._host_tmp_dev = None

    def measure(self, pids: list[int], skip: int) -> int:
        """Bytes in memfds held by `pids` (each counted once) and in the run's tmpfs folders.

        Args:
            pids: The run's processes.
            skip: A pid outside the sandbox's mount namespace (the bubblewrap monitor).
        """
        total = 0
        seen: set[tuple[int, int]] = set()
        for pid in pids:
            fd_dir = f"/proc/{pid}/fd"
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                continue
            for fd in fds:
                try:
                    if not os.readlink(f"{fd_dir}/{fd}").startswith("/memfd:"):
                        continue
                    info = os.stat(f"{fd_dir}/{fd}")
                except OSError:
                    continue
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    total += info.st_blocks * 512
        if self.plain_tmp is not None:
            return total + self._plain_usage()
        return total + self._private_tmpfs_usage([pid for pid in pids if pid != skip])

    def _private_tmpfs_usage(self, pids: list[int]) -> int:
        """Used bytes of `/tmp` and `/dev/shm` as the sandbox's processes see them."""
        for pid in pids:
            root = f"/proc/{pid}/root"
            try:
                if os.stat(f"{root}/tmp").st_dev == self._host_tmp_dev:
                    continue  # not inside the sandbox's mount namespace (yet)
            except OSError:
                continue
            used, devices = 0, set()
            for folder in ("tmp", "dev/shm", "dev"):
                try:
                    device = os.stat(f"{root}/{folder}").st_dev
                    if device in devices:
                        continue
                    devices.add(device)
                    vfs = os.statvfs(f"{root}/{folder}")
                except OSError:
                    continue
                used += (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize
            return used
        return 0

    def plain_tmp_usage(self) -> int:
        """The plain level's `/tmp` folder and its user's files in the host `/dev/shm` (bytes)."""
        return self._plain_usage() if self.plain_tmp is not None else 0

    def _plain_usage(self) -> int:
        """The plain level's `/tmp` folder and its user's files in the host `/dev/shm`."""
        now = time.monotonic()
        if now >= self._next_tree_walk:  # walking a folder tree costs more: twice a second
            self._next_tree_walk = now + 0.5
            used, _ = out_dir_usage(self.plain_tmp)
            if self.host_shm_uid is not None:
                try:
                    for entry in os.scandir("/dev/shm"):
                        info = entry.stat(follow_symlinks=False)
                        if info.st_uid == self.host_shm_uid and stat.S_ISREG(info.st_mode):
                            used += info.st_blocks * 512
                except OSError:
                    pass
            self._plain_tmp_bytes = used
        return self._plain_tmp_bytes


def watch_run(
    proc: subprocess.Popen,
    limits: Limits,
    out: Path,
    uid: int | None,
    started: float,
    *,
    group: RunCgroup | None = None,
    shared: SharedMemory | None = None,
) -> Watch:
    """Wait for the launcher, killing the run at the wall clock, memory or output-folder limit.

    Args:
        proc: The launcher (the root of the run's process tree, in its own session).
        limits: The run's limits.
        out: The run's output folder.
        uid: The run's own user id, or None.
        started: `time.monotonic()` when the launcher was started.
        group: The run's cgroup, whose OOM kills end the run; None when it has none.
        shared: What measures the memory held outside the processes' RSS (used without a
            cgroup), and the plain level's host `/tmp` folder (held to `tmp_bytes` always).

    Returns:
        What the watchdog saw and whether it killed the run.
    """
    watch = Watch()
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
            watch.killed_for = Outcome.TIMEOUT
            watch.detail = f"Expected to finish within {limits.wall_time_s:g} s."
        else:
            members = procs.family(proc.pid, uid)
            rss = sum(info.rss_bytes for info in members.values())
            held = 0
            if group is None and shared is not None:
                held = shared.measure(list(members), skip=proc.pid)
            watch.peak_rss = max(watch.peak_rss, rss + held)
            oom_kills = group.oom_kills() if group is not None else 0
            if oom_kills:
                watch.killed_for = Outcome.MEMORY
                watch.detail = oom_detail(limits, oom_kills)
            elif group is None and rss + held > limits.memory_bytes:
                watch.killed_for = Outcome.MEMORY
                watch.detail = (
                    f"Expected at most {limits.memory_bytes} bytes resident, shared memory and "
                    f"tmpfs files included (measured by the watchdog). Received: rss={rss}, "
                    f"memfd and tmpfs={held}."
                )
            elif now >= next_out_check:
                next_out_check = now + _OUT_DIR_CHECK_EVERY_S
                used, entries = out_dir_usage(out)
                tmp_used = shared.plain_tmp_usage() if shared is not None and shared.plain_tmp else 0
                if used > limits.max_out_dir_bytes or entries > MAX_ENTRIES:
                    watch.killed_for = Outcome.OUT_DIR_FULL
                    watch.detail = (
                        f"Expected at most {limits.max_out_dir_bytes} bytes in writable_out. "
                        f"Received: bytes={used}, entries={entries}."
                    )
                elif tmp_used > limits.tmp_bytes:  # the plain level's /tmp is a host folder
                    watch.killed_for = Outcome.OUT_DIR_FULL
                    watch.detail = (
                        f"Expected at most {limits.tmp_bytes} bytes in the private /tmp. Received: bytes={tmp_used}."
                    )
        if watch.killed_for is not None:
            procs.kill_family(proc.pid, uid)
            proc.wait()
            return watch
