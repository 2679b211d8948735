"""The seccomp filter every sandboxed run gets: dangerous system calls fail with `EPERM`.

A classic BPF program built here with `struct` (no libseccomp needed) for x86_64 and aarch64.
The launcher installs it in the code's process right before `exec` (after
`PR_SET_NO_NEW_PRIVS`), at every isolation level, so it binds the code and everything it
starts, while bubblewrap and the launcher have already done their own namespace work.

Denied (`EPERM`): new namespaces (`unshare` and `clone` with any `CLONE_NEW*` flag, `setns`),
so no user namespace can be made inside, even when the grader is root; mounting (`mount`,
`umount2`, `pivot_root`, `chroot` and the new mount API); looking into or writing other
processes (`ptrace`, `process_vm_readv/writev`, `pidfd_getfd`, `process_madvise`, `kcmp`); the
kernel keyring (`keyctl`, `add_key`, `request_key`); `bpf`, `perf_event_open`, `userfaultfd`,
`io_uring_*`; kernel modules and `kexec_*`; `open_by_handle_at`/`name_to_handle_at`;
`personality` except the harmless values; swap, reboot, clock and accounting calls.
`clone3` fails with `ENOSYS` (its flags are out of a filter's reach), so the C library falls
back to `clone`, whose flags are checked. System calls of another architecture (`int 0x80`,
x32) are denied too.
"""

from __future__ import annotations

import errno
import platform
import struct

# BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000

# Namespace flags: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (and for
# unshare also CLONE_NEWTIME, which clone(2) reads as part of the exit signal).
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
CLONE_NEWTIME = 0x00000080
PERSONALITY_ALLOWED = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)  # PER_LINUX variants and the query

# Numbers per architecture (the generic table for aarch64); calls added since Linux 5.1 share
# one number everywhere.
_COMMON_NEW = {
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "process_madvise": 440,
    "mount_setattr": 442,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
}
SYSCALLS = {
    "x86_64": {
        "clone": 56,
        "clone3": 435,
        "unshare": 272,
        "personality": 135,
        "setns": 308,
        "mount": 165,
        "umount2": 166,
        "pivot_root": 155,
        "chroot": 161,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "kcmp": 312,
        "keyctl": 250,
        "add_key": 248,
        "request_key": 249,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "kexec_load": 246,
        "kexec_file_load": 320,
        "init_module": 175,
        "finit_module": 313,
        "delete_module": 176,
        "open_by_handle_at": 304,
        "name_to_handle_at": 303,
        "swapon": 167,
        "swapoff": 168,
        "reboot": 169,
        "acct": 163,
        "settimeofday": 164,
        "clock_settime": 227,
        "adjtimex": 159,
        "clock_adjtime": 305,
        "iopl": 172,
        "ioperm": 173,
        "quotactl": 179,
        "lookup_dcookie": 212,
        "vhangup": 153,
        "fanotify_init": 300,
        "syslog": 103,
        **_COMMON_NEW,
    },
    "aarch64": {
        "clone": 220,
        "clone3": 435,
        "unshare": 97,
        "personality": 92,
        "setns": 268,
        "mount": 40,
        "umount2": 39,
        "pivot_root": 41,
        "chroot": 51,
        "ptrace": 117,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "kcmp": 272,
        "keyctl": 219,
        "add_key": 217,
        "request_key": 218,
        "bpf": 280,
        "perf_event_open": 241,
        "userfaultfd": 282,
        "kexec_load": 104,
        "kexec_file_load": 294,
        "init_module": 105,
        "finit_module": 273,
        "delete_module": 106,
        "open_by_handle_at": 265,
        "name_to_handle_at": 264,
        "swapon": 224,
        "swapoff": 225,
        "reboot": 142,
        "acct": 89,
        "settimeofday": 170,
        "clock_settime": 112,
        "adjtimex": 171,
        "clock_adjtime": 266,
        "quotactl": 60,
        "lookup_dcookie": 18,
        "vhangup": 58,
        "fanotify_init": 262,
        "syslog": 116,
        **_COMMON_NEW,
    },
}
_CHECKED = ("clone", "clone3", "unshare", "personality")


def denied_syscalls(arch: str) -> tuple[str, ...]:
    """The system calls denied outright on `arch` (the others in its table are checked by argument)."""
    return tuple(sorted(name for name in SYSCALLS[arch] if name not in _CHECKED))


_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arguments are little-endian)


def machine() -> str | None:
    """This machine's architecture as the filter knows it, or None where there is no filter."""
    name = platform.machine().lower()
    name = {"amd64": "x86_64", "arm64": "aarch64"}.get(name, name)
    return name if name in SYSCALLS and platform.system() == "Linux" else None


def build_filter(arch: str | None = None) -> bytes:
    """The filter as packed `struct sock_filter` entries (8 bytes each), for `arch` or this machine.

    Raises:
        ValueError: If there is no syscall table for the architecture.
    """
    arch = arch or machine()
    if arch not in SYSCALLS:
        raise ValueError(f"Expected one of {sorted(SYSCALLS)} for `arch`. Received: arch={arch!r}")
    table = SYSCALLS[arch]
    program: list[tuple] = []  # (code, jump-true label or 0, jump-false label or 0, k)

    def op(code: int, k: int = 0, jt: str | int = 0, jf: str | int = 0) -> None:
        program.append((code, jt, jf, k))

    labels: dict[str, int] = {}

    def label(name: str) -> None:
        labels[name] = len(program)

    op(_LD_W_ABS, _ARCH)
    op(_JEQ_K, AUDIT_ARCH[arch], jt=1)
    op(_RET_K, RET_ERRNO | errno.EPERM)  # another architecture's system call
    op(_LD_W_ABS, _NR)
    if arch == "x86_64":
        op(_JGE_K, X32_SYSCALL_BIT, jt="deny")
    for name in denied_syscalls(arch):
        op(_JEQ_K, table[name], jt="deny")
    op(_JEQ_K, table["clone3"], jt="enosys")
    op(_JEQ_K, table["clone"], jt="clone")
    op(_JEQ_K, table["unshare"], jt="unshare")
    op(_JEQ_K, table["personality"], jt="personality")
    op(_RET_K, RET_ALLOW)
    label("clone")
    op(_LD_W_ABS, _ARG0)
    op(_JSET_K, CLONE_NEW_FLAGS, jt="deny")
    op(_RET_K, RET_ALLOW)
    label("unshare")
    op(_LD_W_ABS, _ARG0)
    op(_JSET_K, CLONE_NEW_FLAGS | CLONE_NEWTIME, jt="deny")
    op(_RET_K, RET_ALLOW)
    label("personality")
    op(_LD_W_ABS, _ARG0)
    for value in PERSONALITY_ALLOWED:
        op(_JEQ_K, value, jt="allow")
    label("deny")
    op(_RET_K, RET_ERRNO | errno.EPERM)
    label("enosys")
    op(_RET_K, RET_ERRNO | errno.ENOSYS)
    label("allow")
    op(_RET_K, RET_ALLOW)

    packed = b""
    for pc, (code, jt, jf, k) in enumerate(program):
        offsets = []
        for jump in (jt, jf):
            offset = labels[jump] - pc - 1 if isinstance(jump, str) else jump
            if not 0 <= offset <= 255:
                raise ValueError(f"Expected a jump within 255 instructions. Received: offset={offset}")
            offsets.append(offset)
        packed += struct.pack("=HBBI", code, offsets[0], offsets[1], k)
    return packed
