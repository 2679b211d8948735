"""Limits that bind (issue #10, item 5): memory outside RSS, user namespaces and dangerous system
calls, the plain level as root, and the CPU quota.

Each attack here succeeded on 9aa54a1's sandbox: a run held 2.4 GiB through memfds, its private
`/tmp` and `/dev/shm` under a 512 MiB limit and was reported ok (the watchdog summed RSS only);
code could create user namespaces, ptrace and read other processes' memory when the grader was
root (no seccomp, `--disable-userns` only for non-root graders); the plain level as root ran the
code as root, which read root-only files and ignored `RLIMIT_NPROC`; and there was no CPU quota.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.sandbox import MIB, IsolationLevel, Limits, Outcome, PythonEntry, run_sandboxed, unavailable_reason
from autograder.sandbox import cgroups, seccomp
from autograder.sandbox.isolation import reachable_by_others

SYSTEM_PYTHON = "/usr/bin/python3"
FAST = Limits(wall_time_s=20, memory_bytes=512 * MIB, max_processes=64, poll_interval_s=0.05)
ROOT = os.geteuid() == 0

# 2.4 GiB held where RSS does not show it: memfds (each under RLIMIT_FSIZE), /tmp, /dev/shm.
SHARED_MEMORY_HOG = """
import os, time
chunk = b"x" * (16 << 20)
def fill(fd, total):
    n = 0
    while n < total:
        os.write(fd, chunk); n += len(chunk)
fds = [os.memfd_create("hog%d" % i) for i in range(4)]
for fd in fds:
    fill(fd, 350 << 20)
for path in ("/tmp/hog", "/dev/shm/hog"):
    try:
        fill(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600), 500 << 20)
    except OSError:
        pass
print("held 2.4 GiB", flush=True)
time.sleep(5)
"""

# System calls the seccomp filter denies, called with arguments that would otherwise succeed
# (or fail with another errno): each prints its name and errno.
SYSCALL_PROBE = """
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
nr = json.loads(sys.argv[1])
buf = ctypes.create_string_buffer(8)
iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 8)
calls = {
    "unshare_user": lambda: libc.unshare(0x10000000),
    "unshare_mount": lambda: libc.unshare(0x00020000),
    "clone_newuser": lambda: libc.syscall(nr["clone"], 0x10000000 | 17, 0, 0, 0, 0),
    "ptrace_traceme": lambda: libc.ptrace(0, 0, 0, 0),
    "process_vm_readv_self": lambda: libc.syscall(nr["process_vm_readv"], os.getpid(), iov, 1, iov, 1, 0),
    "mount_tmpfs": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
    "personality_no_aslr": lambda: libc.personality(0x0040000),
    "keyctl_session": lambda: libc.syscall(nr["keyctl"], 1, 0, 0, 0, 0),
    "bpf": lambda: libc.syscall(nr["bpf"], 0, 0, 0),
    "userfaultfd": lambda: libc.syscall(nr["userfaultfd"], 1),
    "perf_event_open": lambda: libc.syscall(nr["perf_event_open"], 0, 0, -1, -1, 0),
    "setns": lambda: libc.syscall(nr["setns"], 0, 0),
    "io_uring_setup": lambda: libc.syscall(nr["io_uring_setup"], 1, 0),
    "clone3": lambda: libc.syscall(nr["clone3"], 0, 0),
}
result = {}
for name, call in calls.items():
    ctypes.set_errno(0)
    rc = call()
    result[name] = ctypes.get_errno() if rc == -1 else 0
print(json.dumps(result))
"""

DENIED_WITH_EPERM = [
    "unshare_user",
    "unshare_mount",
    "clone_newuser",
    "ptrace_traceme",
    "process_vm_readv_self",
    "mount_tmpfs",
    "personality_no_aslr",
    "keyctl_session",
    "bpf",
    "userfaultfd",
    "perf_event_open",
    "setns",
    "io_uring_setup",
]


def _levels() -> list:
    return [pytest.param(level, id=level.value) for level in IsolationLevel]


def _skip_unless_available(level: IsolationLevel) -> None:
    reason = unavailable_reason(level)
    if reason is not None:
        pytest.skip(f"isolation level `{level.value}` not available here: {reason}")


class _Box:
    """A submission folder, an output folder and a root-only secret, reachable by a per-run uid."""

    def __init__(self, base: Path, level: IsolationLevel) -> None:
        self.level = level
        self.workdir = base / "submission"
        self.out = base / "out"
        self.secret = base / "root-only.txt"
        self.workdir.mkdir()
        self.out.mkdir()
        self.secret.write_text("root-only-secret")
        self.secret.chmod(0o600)
        for folder in (base, self.workdir):
            folder.chmod(0o755)

    def python(self, code: str, *args: str) -> PythonEntry | list[str]:
        # The plain level as root runs as a per-run uid, which needs a Python readable by all.
        if self.level is IsolationLevel.PLAIN and ROOT and not reachable_by_others(sys.executable):
            if not os.path.exists(SYSTEM_PYTHON):
                pytest.skip(f"the plain level as root needs a Python readable by all users ({SYSTEM_PYTHON})")
            return [SYSTEM_PYTHON, "-c", code, *args]
        return PythonEntry(code=code, args=args)

    def run(self, code: str, *args: str, limits: Limits = FAST, **kwargs):
        return run_sandboxed(
            self.python(code, *args),
            workdir=self.workdir,
            writable_out=self.out,
            limits=limits,
            isolation_level=self.level,
            **kwargs,
        )


@pytest.fixture
def make_box():
    base = Path(tempfile.mkdtemp(prefix="sandbox-limits-"))  # not pytest's root-only tmp folder

    def make(level: IsolationLevel) -> _Box:
        _skip_unless_available(level)
        return _Box(base, level)

    yield make
    shutil.rmtree(base, ignore_errors=True)


def _cgroup_or_skip() -> str:
    label = cgroups.probe()
    if label == "watchdog":
        pytest.skip("this machine offers this user no cgroup with memory, pids and cpu")
    return label


@pytest.mark.parametrize("level", _levels())
def test_shared_memory_hog_is_stopped_by_the_run_cgroup(make_box, level):
    label = _cgroup_or_skip()
    result = make_box(level).run(SHARED_MEMORY_HOG)
    assert result.isolation.limits == label
    assert result.outcome is Outcome.MEMORY, result.message + result.stderr.text[-500:]
    assert "OOM killer" in result.message and "held" not in result.stdout.text


@pytest.mark.parametrize("level", _levels())
def test_shared_memory_hog_is_stopped_by_the_watchdog_without_cgroups(make_box, level):
    result = make_box(level).run(SHARED_MEMORY_HOG, cgroup_parent=cgroups.OFF)
    assert result.isolation.limits == "watchdog"
    assert any("Limits not enforced by the kernel" in warning for warning in result.isolation.warnings)
    assert result.outcome is Outcome.MEMORY, result.message + result.stderr.text[-500:]
    assert "memfd and tmpfs" in result.message


@pytest.mark.parametrize("level", _levels())
def test_dangerous_system_calls_are_denied(make_box, level):
    if seccomp.machine() is None:
        pytest.skip("no seccomp filter for this architecture")
    table = seccomp.SYSCALLS[seccomp.machine()]
    import json

    result = make_box(level).run(SYSCALL_PROBE, json.dumps(table))
    assert result.outcome is Outcome.OK, result.message + result.stderr.text[-1000:]
    assert result.isolation.syscall_filter
    errnos = json.loads(result.stdout.text)
    assert {name: errnos[name] for name in DENIED_WITH_EPERM} == dict.fromkeys(DENIED_WITH_EPERM, errno.EPERM)
    assert errnos["clone3"] == errno.ENOSYS  # so the C library falls back to clone(2), whose flags are checked


@pytest.mark.parametrize("level", _levels())
def test_no_user_namespace_with_the_unshare_command(make_box, level):
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare")
    code = (
        "import subprocess\n"
        "done = subprocess.run(['unshare', '-U', '-r', 'id', '-u'], capture_output=True, text=True)\n"
        "print(done.returncode, done.stdout.strip() or done.stderr.strip())\n"
    )
    result = make_box(level).run(code)
    assert result.outcome is Outcome.OK, result.message + result.stderr.text[-1000:]
    status, _, text = result.stdout.text.partition(" ")
    assert status != "0" and "Operation not permitted" in text, result.stdout.text


@pytest.mark.parametrize("level", _levels())
def test_threads_processes_and_subprocesses_still_work_under_the_filter(make_box, level):
    code = (
        "import subprocess, sys, threading, multiprocessing as mp\n"
        "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
        "print(subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout.strip())\n"
        "with mp.get_context('fork').Pool(2) as pool: print(sum(pool.map(abs, [-1, -2])))\n"
    )
    result = make_box(level).run(code)
    assert result.outcome is Outcome.OK, result.message + result.stderr.text[-1000:]
    assert result.stdout.text.split() == ["thread", "42", "3"]


def test_plain_level_as_root_runs_under_an_unprivileged_user(make_box):
    if not ROOT:
        pytest.skip("the point is a root grader")
    box = make_box(IsolationLevel.PLAIN)
    marker = f"plain-bomb-{uuid.uuid4().hex}"
    code = (
        f"# {marker}\n"
        "import os, sys, time\n"
        "try:\n"
        f"    print(open({str(box.secret)!r}).read())\n"
        "except PermissionError:\n"
        "    print('denied')\n"
        "n = 0\n"
        "for _ in range(1000):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(60); os._exit(0)\n"
        "    n += 1\n"
        "print(os.getuid(), os.geteuid(), n)\n"
    )
    # No cgroup, so that RLIMIT_NPROC alone must stop the fork bomb.
    result = box.run(code, limits=replace(FAST, max_processes=40), cgroup_parent=cgroups.OFF)
    assert result.outcome is Outcome.OK, result.message + result.stderr.text[-1000:]
    denied, ids = result.stdout.text.splitlines()
    uid, euid, forked = map(int, ids.split())
    assert denied == "denied"
    assert uid == euid == result.isolation.uid and uid not in (0, os.getuid())
    assert forked < 40 and result.stray_processes_killed >= forked
    assert "never root" in result.isolation.warnings[0]
    assert (box.out).stat().st_uid == os.getuid()  # handed back to the grader


def test_plain_level_as_root_refuses_what_its_user_cannot_reach(make_box, tmp_path):
    if not ROOT:
        pytest.skip("the point is a root grader")
    box = make_box(IsolationLevel.PLAIN)
    private = tmp_path / "private-inputs"  # under pytest's root-only folder
    private.mkdir()
    result = box.run("print('ran')", readable=[private])
    assert result.outcome is Outcome.SANDBOX_ERROR and "ran" not in result.stdout.text
    assert str(private) in result.message and "o+x" in result.message


@pytest.mark.parametrize("level", _levels())
def test_private_tmp_is_held_to_its_size(make_box, level):
    # bwrap and namespaces: a sized tmpfs; plain: a host folder the watchdog measures.
    code = (
        "import os, time\n"
        "fd = os.open(os.path.join(os.environ['TMPDIR'], 'big'), os.O_CREAT | os.O_WRONLY, 0o600)\n"
        "try:\n"
        "    for _ in range(12): os.write(fd, b'x' * (8 << 20))\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
        "time.sleep(3)\n"
    )
    result = make_box(level).run(code, limits=replace(FAST, tmp_bytes=32 * MIB))
    if level is IsolationLevel.PLAIN:
        assert result.outcome is Outcome.OUT_DIR_FULL and "private /tmp" in result.message, result.message
    else:
        assert result.outcome is Outcome.OK and "refused" in result.stdout.text, result.message


def test_cpu_quota_binds(make_box):
    _cgroup_or_skip()
    box = make_box(IsolationLevel.PLAIN if unavailable_reason(IsolationLevel.BWRAP) else IsolationLevel.BWRAP)
    code = (
        "import os, time\n"
        "pids = []\n"
        "for _ in range(2):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        end = time.monotonic() + 2.0\n"
        "        while time.monotonic() < end: pass\n"
        "        os._exit(0)\n"
        "    pids.append(pid)\n"
        "for pid in pids: os.waitpid(pid, 0)\n"
        "t = os.times(); print(t.children_user + t.children_system)\n"
    )
    result = box.run(code, limits=replace(FAST, cpu_cores=0.25))
    assert result.outcome is Outcome.OK, result.message + result.stderr.text[-1000:]
    cpu_seconds = float(result.stdout.text)
    assert cpu_seconds < 0.25 * 2.0 * 1.6 + 0.1, cpu_seconds  # 2 busy children, 2 s, a quarter of a core


def test_run_cgroups_are_removed_after_the_run(make_box):
    _cgroup_or_skip()
    box = make_box(IsolationLevel.BWRAP if unavailable_reason(IsolationLevel.BWRAP) is None else IsolationLevel.PLAIN)
    code = "import os, time\nif os.fork() == 0:\n    os.setsid(); time.sleep(60)\nprint('parent done')"
    result = box.run(code)
    assert result.outcome is Outcome.OK, result.message + result.stderr.text[-1000:]
    leftovers = [
        path
        for root in [*cgroups.v1_roots().values(), *filter(None, [cgroups.v2_root()])]
        for path in root.rglob(f"run-{os.getpid()}-*")
    ]
    assert leftovers == []


def test_limits_validate_cpu_cores():
    assert Limits().cpu_cores == 2.0 and Limits(cpu_cores=None).cpu_cores is None
    with pytest.raises(ValueError, match="cpu_cores"):
        Limits(cpu_cores=0)


@pytest.mark.parametrize("arch", sorted(seccomp.SYSCALLS))
def test_seccomp_filter_is_a_well_formed_program(arch):
    program = seccomp.build_filter(arch)
    assert len(program) % 8 == 0 and 8 < len(program) // 8 < 256
    assert {"ptrace", "mount", "setns", "bpf", "keyctl"} <= set(seccomp.denied_syscalls(arch))
