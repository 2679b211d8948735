"""The watchdog of one run: wall clock, memory of the whole process tree, output-folder size.

The kernel enforces the per-process limits (rlimits); what spans the whole run is checked here
by polling, and the run is killed, every process of it, at the first limit crossed.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import procs
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


def watch_run(proc: subprocess.Popen, limits: Limits, out: Path, uid: int | None, started: float) -> Watch:
    """Wait for the launcher, killing the run at the wall clock, memory or output-folder limit.

    Args:
        proc: The launcher (the root of the run's process tree, in its own session).
        limits: The run's limits.
        out: The run's output folder.
        uid: The run's own user id, or None.
        started: `time.monotonic()` when the launcher was started.

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
            rss = sum(info.rss_bytes for info in procs.family(proc.pid, uid).values())
            watch.peak_rss = max(watch.peak_rss, rss)
            if rss > limits.memory_bytes:
                watch.killed_for = Outcome.MEMORY
                watch.detail = f"Expected at most {limits.memory_bytes} bytes resident. Received: rss={rss}."
            elif now >= next_out_check:
                next_out_check = now + _OUT_DIR_CHECK_EVERY_S
                used, entries = out_dir_usage(out)
                if used > limits.max_out_dir_bytes or entries > MAX_ENTRIES:
                    watch.killed_for = Outcome.OUT_DIR_FULL
                    watch.detail = (
                        f"Expected at most {limits.max_out_dir_bytes} bytes in writable_out. "
                        f"Received: bytes={used}, entries={entries}."
                    )
        if watch.killed_for is not None:
            procs.kill_family(proc.pid, uid)
            proc.wait()
            return watch
