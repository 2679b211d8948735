"""The first process inside the sandbox: sets limits, drops privileges, runs the code, reports.

This file is self-contained (standard library only): the runner passes its source to
`python -I -S -c`, so it works inside a bubblewrap view where the `autograder` package is not
visible. It takes one JSON argument (see `runner.py`) and:

1. (`namespaces` only) unshares mount, network, IPC, UTS and PID namespaces; its first child,
   the new namespace's init, builds the planned view with mount(2) and chroots into it;
2. forks; the child sets the resource limits, drops to the run's own user id when it has
   one, forbids gaining privileges (`PR_SET_NO_NEW_PRIVS`), installs the seccomp filter the
   runner built (`seccomp.py`: no namespaces, mounts, ptrace, keyrings, bpf, ...) and execs
   the code;
3. the parent waits, kills what the code left running, and writes one JSON line to the
   status pipe: the code's raw wait status, its peak memory and the strays it killed.

A failure before exec is reported on the status pipe as {"error": ...} (exit status 126).
"""

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 22, 36, 38
SECCOMP_MODE_FILTER = 2
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype=None, flags=0, data=None):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _prctl(option, value):
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(program_hex):
    """Install the packed classic-BPF seccomp filter (hex) on this thread; exec keeps it."""
    program = bytes.fromhex(program_hex)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    rc = _libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0)
    _check(rc, "seccomp filter")


def _mountpoint(path, like_dir):
    if like_dir:
        os.makedirs(path, exist_ok=True)
    elif not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def _bind(source, target, readonly):
    _mountpoint(target, os.path.isdir(source))
    _mount(source, target, None, MS_BIND)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
    _mount(None, target, None, flags)


def build_view(root, mounts):
    """Carry out the planned mounts under `root` (namespaces level), then chroot into it."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    cover = os.path.join(root, ".hidden")
    os.close(os.open(cover, os.O_CREAT | os.O_WRONLY, 0))
    for m in mounts:
        kind, target = m["kind"], os.path.join(root, m["dest"].lstrip("/"))
        if kind in ("ro-bind", "bind"):
            _bind(m["source"], target, readonly=kind == "ro-bind")
        elif kind == "dev-bind":
            _mountpoint(target, False)
            _mount(m["source"], target, None, MS_BIND)
        elif kind == "symlink":
            os.symlink(m["source"], target)
        elif kind in ("tmpfs", "hide-dir"):
            mode, size = (m["mode"], m["size"]) if kind == "tmpfs" else (0, 4096)
            _mountpoint(target, True)
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=%o,size=%d" % (mode, size))
            if kind == "hide-dir":
                _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        elif kind == "hide-file":
            _bind(cover, target, readonly=True)
        elif kind == "dev":
            _mountpoint(target, True)
            _mount("tmpfs", target, "tmpfs", MS_NOSUID, "mode=0755,size=64k")
            for name in DEVICES:
                if os.path.exists("/dev/" + name):
                    _mountpoint(os.path.join(target, name), False)
                    _mount("/dev/" + name, os.path.join(target, name), None, MS_BIND)
            for name, link in (
                ("fd", "/proc/self/fd"),
                ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"),
                ("stderr", "/proc/self/fd/2"),
            ):
                os.symlink(link, os.path.join(target, name))
        elif kind == "proc":
            _mountpoint(target, True)
            _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        else:
            raise ValueError("Expected a known mount kind. Received: kind=%r" % (kind,))
    _mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    os.chroot(".")
    os.chdir("/")


def become_code(spec):
    """In the child: limits, identity, then exec the code. Never returns."""
    os.chdir(spec["cwd"])
    for name, (soft, hard) in spec["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if spec["uid"] is not None:
        os.setgroups([])
        os.setresgid(spec["gid"], spec["gid"], spec["gid"])
        os.setresuid(spec["uid"], spec["uid"], spec["uid"])
    if _libc is not None:
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it
        if spec.get("seccomp"):
            install_seccomp(spec["seccomp"])
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these; exec would keep that
        signal.signal(sig, signal.SIG_DFL)
    os.set_inheritable(spec["status_fd"], False)
    argv = spec["argv"]
    os.execvpe(argv[0], argv, spec["env"])


def _children_of(pid):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
                found.append(int(name))
    return found


def kill_strays(spec):
    """Kill whatever the code left running once it has exited; return how many there were."""
    in_own_pid_ns = spec["mode"] != "plain" and _pid_ns() != spec["host_pid_ns"]
    strays = set()
    for _ in range(100):
        if in_own_pid_ns:  # everything else in this PID namespace belongs to the run
            alive = [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in (1, os.getpid())]
        else:  # plain: as a child subreaper, every orphan of the run is our child
            alive = _children_of(os.getpid())
        alive = [pid for pid in alive if not _is_zombie(pid)]
        if not alive:
            break
        strays.update(alive)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap()
    _reap()
    return len(strays)


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] in (b"Z", b"X")


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _pid_ns():
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def _report(spec, record):
    os.write(spec["status_fd"], (json.dumps(record) + "\n").encode())


def _error(spec, exc):
    _report(spec, {"error": "%s: %s" % (type(exc).__name__, exc)})
    os._exit(126)


def supervise(spec):
    """Fork the code, wait for it, kill what it left behind, report. Never returns."""
    try:
        if spec["mode"] == "plain" and _libc is not None:
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
        child = os.fork()
    except Exception as exc:  # noqa: BLE001 - any setup failure is reported, not raised
        _error(spec, exc)
    if child == 0:
        try:
            become_code(spec)
        except BaseException as exc:  # noqa: BLE001
            _error(spec, exc)
    status, maxrss = None, 0
    while status is None:
        try:
            pid, wait_status, usage = os.wait3(0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            status, maxrss = wait_status, usage.ru_maxrss
    strays = kill_strays(spec) if _libc is not None else 0
    _report(spec, {"wait_status": status, "maxrss_kib": maxrss, "strays": strays})
    os._exit(0)


def main():
    """Run the spec in argv[1]. For `namespaces`, the first child is the new PID namespace's
    init: it builds the view, then supervises the code like the launcher does elsewhere."""
    spec = json.loads(sys.argv[1])
    os.umask(0o022)
    if spec["mode"] != "namespaces":
        supervise(spec)
    try:
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
        init = os.fork()
    except Exception as exc:  # noqa: BLE001
        _error(spec, exc)
    if init == 0:
        try:
            build_view(spec["view_root"], spec["mounts"])
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except BaseException as exc:  # noqa: BLE001
            _error(spec, exc)
        supervise(spec)
    while True:
        try:
            os.waitpid(init, 0)
            break
        except InterruptedError:
            continue
    os._exit(0)


if __name__ == "__main__":
    main()
