"""The sandbox that runs untrusted student code: limits, isolation, and untrusted read-back.

Run one part of a submission with `run_sandboxed(command, workdir=..., readable=[...],
writable_out=..., hidden=[...], limits=Limits(...), env={...})`; it returns a `SandboxResult`
(outcome, exit code or signal, duration, bounded output, the isolation used). Read what the
code left in `writable_out` only with `read_json`, `read_npz` and `load_keras_model`, which
treat it as hostile data.

Isolation, strongest available first (`best_level()`; each run reports the one it used in
`SandboxResult.isolation`):

- `bwrap` (bubblewrap) and `namespaces` (unshare(2) + chroot, as root): the code sees only the
  system, its Python, its inputs read-only and its output folder; hidden paths are covered;
  no network; own PID/IPC/UTS namespaces.
- `plain` (a container without user namespaces, a student's laptop): limits only; hidden
  paths and the network are not protected, and its report says so.

At every level: a root grader runs the code under a user id of its own (never root, also at
`plain`); `PR_SET_NO_NEW_PRIVS` and a seccomp filter deny new namespaces (user namespaces
included), mounts, ptrace, process_vm_*, keyrings, bpf, perf, userfaultfd, io_uring, modules
and kexec; wall clock and output-folder size are watched. Memory, processes and CPU bind
through the run's own cgroup where the machine offers one (`isolation.limits` = "cgroup v2"
or "cgroup v1": the kernel counts tmpfs, /dev/shm and memfd memory; an OOM kill ends the run
as `Outcome.MEMORY`), else through rlimits and a polling watchdog that also counts memfds and
the private tmpfs (`isolation.limits` = "watchdog", with a warning; no CPU quota). Give the
cgroup parent with `run_sandboxed(cgroup_parent=...)` or `COURSE_SANDBOX_CGROUP`
(`cgroups.delegate_cgroup` prepares one for an unprivileged grader; `off` turns cgroups off).
"""

from autograder.sandbox.artifacts import (
    UntrustedArtifactError,
    list_artifacts,
    load_keras_model,
    read_json,
    read_npz,
)
from autograder.sandbox.cgroups import delegate_cgroup, parent_setting
from autograder.sandbox.command import PythonEntry
from autograder.sandbox.isolation import available_levels, best_level, unavailable_reason
from autograder.sandbox.limits import GIB, KIB, MIB, Limits
from autograder.sandbox.result import CapturedOutput, IsolationLevel, IsolationReport, Outcome, SandboxResult
from autograder.sandbox.runner import run_sandboxed
from autograder.sandbox.view import gpu_devices

__all__ = [
    "GIB",
    "KIB",
    "MIB",
    "CapturedOutput",
    "IsolationLevel",
    "IsolationReport",
    "Limits",
    "Outcome",
    "PythonEntry",
    "SandboxResult",
    "UntrustedArtifactError",
    "available_levels",
    "best_level",
    "delegate_cgroup",
    "gpu_devices",
    "list_artifacts",
    "load_keras_model",
    "parent_setting",
    "read_json",
    "read_npz",
    "run_sandboxed",
    "unavailable_reason",
]
