"""The resource budget of one sandboxed run: time, memory, processes, files and output."""

from __future__ import annotations

import math
from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def _check_positive(name: str, value: float | int | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a positive number. Received: {name}={value!r}"
        )


@dataclass(frozen=True)
class Limits:
    """What one run of untrusted code may use before the sandbox stops it.

    Memory is enforced twice: `RLIMIT_DATA` caps each process's private writable memory (so a
    single huge allocation fails at once, yet TensorFlow's large *virtual* reservations still
    work, unlike with `RLIMIT_AS`), and the whole run is held to `memory_bytes`: by the run's
    own cgroup where the machine offers one (the kernel counts tmpfs, `/dev/shm`, memfd and
    other shared memory too; see `cgroups.py`), else by a watchdog that adds the run's
    resident memory, its memfds and its private tmpfs folders.

    Processes and CPU bind the same way: `max_processes` is the cgroup's `pids.max` (and
    `RLIMIT_NPROC` of the run's user), `cpu_cores` its CFS quota. Without a cgroup there is
    no CPU quota, only `cpu_time_s`.

    Example:
        >>> Limits(wall_time_s=30, memory_bytes=2 * GIB).max_processes
        256

    Args:
        wall_time_s: Wall-clock seconds before the whole process tree is killed.
        cpu_time_s: CPU seconds per process (`RLIMIT_CPU`); None for no separate CPU cap.
        memory_bytes: Memory of the whole tree (resident) and of each process (`RLIMIT_DATA`).
        max_processes: Processes and threads the sandboxed user may have (`RLIMIT_NPROC`).
            TensorFlow starts dozens of threads, so keep this well above 64 for Keras code.
        max_file_bytes: Largest file the code may write (`RLIMIT_FSIZE`).
        max_open_files: Open file descriptors per process (`RLIMIT_NOFILE`).
        max_out_dir_bytes: Total size of `writable_out`; the watchdog stops the run beyond it.
        tmp_bytes: Size of the private in-memory `/tmp` where the isolation provides one.
        output_head_bytes: Bytes kept from the start of stdout and of stderr.
        output_tail_bytes: Bytes kept from the end of stdout and of stderr.
        poll_interval_s: How often the watchdog measures memory and the output folder.
        cpu_cores: The CPU bandwidth of the whole run, in cores (a cgroup CFS quota: 1.5 =
            150 ms of CPU time per 100 ms); None for no quota. Enforced only where the run
            has a cgroup (`SandboxResult.isolation.limits`).
    """

    wall_time_s: float = 60.0
    cpu_time_s: float | None = None
    memory_bytes: int = 4 * GIB
    max_processes: int = 256
    max_file_bytes: int = 512 * MIB
    max_open_files: int = 1024
    max_out_dir_bytes: int = 1 * GIB
    tmp_bytes: int = 512 * MIB
    output_head_bytes: int = 64 * KIB
    output_tail_bytes: int = 64 * KIB
    poll_interval_s: float = 0.1
    cpu_cores: float | None = 2.0

    def __post_init__(self) -> None:
        _check_positive("wall_time_s", self.wall_time_s)
        _check_positive("cpu_time_s", self.cpu_time_s, optional=True)
        _check_positive("poll_interval_s", self.poll_interval_s)
        _check_positive("cpu_cores", self.cpu_cores, optional=True)
        for name in (
            "memory_bytes",
            "max_processes",
            "max_file_bytes",
            "max_open_files",
            "max_out_dir_bytes",
            "tmp_bytes",
            "output_head_bytes",
            "output_tail_bytes",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"Invalid value received for argument `{name}`. Expected a positive integer. "
                    f"Received: {name}={value!r}"
                )

    def rlimits(self, nproc: int | None = None) -> dict[str, tuple[int, int]]:
        """The `resource.RLIMIT_*` names and (soft, hard) values the launcher sets before exec.

        Args:
            nproc: The `RLIMIT_NPROC` value to use instead of `max_processes` (the plain
                subprocess level counts the user's other processes too), or None.
        """
        limits = {
            "RLIMIT_DATA": (self.memory_bytes, self.memory_bytes),
            "RLIMIT_NPROC": (nproc or self.max_processes,) * 2,
            "RLIMIT_FSIZE": (self.max_file_bytes, self.max_file_bytes),
            "RLIMIT_NOFILE": (self.max_open_files, self.max_open_files),
            "RLIMIT_CORE": (0, 0),
        }
        if self.cpu_time_s is not None:
            soft = max(1, math.ceil(self.cpu_time_s))
            limits["RLIMIT_CPU"] = (soft, soft + 1)
        return limits
