"""Per-run control groups: memory (tmpfs, shared memory and memfd included), processes, CPU.

A run gets a cgroup of its own where the machine offers one, and the kernel then enforces:

- memory: `memory.max` (v2) or `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes`
  (v1) = `Limits.memory_bytes`. The kernel charges the run's anonymous memory, its page cache
  and every shared-memory page it touches (files in its private `/tmp` and `/dev/shm` tmpfs,
  `memfd_create`, `MAP_SHARED|MAP_ANONYMOUS`), so memory held outside any process's RSS
  still binds. Past the limit the kernel's OOM killer stops a process of the run; the
  watchdog sees the `oom_kill` counter move and ends the whole run as `Outcome.MEMORY`.
- processes: `pids.max` = `Limits.max_processes` (+ the sandbox's own few processes), counting
  only this run's tasks, whoever else runs as the same user.
- CPU: a CFS quota of `Limits.cpu_cores` cores (`cpu.max`, or `cpu.cfs_quota_us`).

Where the groups are made: only under the parent the caller gives, if it gives one; else the
first of 2 and 3 that works.

1. the parent given by the caller (`run_sandboxed(cgroup_parent=...)` or the environment
   variable `COURSE_SANDBOX_CGROUP`; the value `off` turns cgroups off), e.g. a subtree a
   root process delegated to the grader's unprivileged user with `delegate_cgroup()`: one
   absolute v2 folder, or absolute v1 folders (one per hierarchy) joined with `:`
   (`parent_setting()`), or a path relative to every hierarchy's root;
2. cgroup v2 (the unified hierarchy has memory, pids and cpu): as root a parent
   `autograder-sandbox` at the top of the hierarchy (exempt from the "no internal processes"
   rule); a container's namespace root usually refuses that, and then v2 is not used;
3. cgroup v1 hierarchies for memory, pids and cpu (root only): a child of the grader's own
   cgroup in each, so that limits set on the grader (a container, a session) still apply.

When none works the run falls back to the watchdog (see `watchdog.py`), and its
`IsolationReport` says so (`limits="watchdog"` and a warning).

The run's first process joins the groups before it executes anything (a `/bin/sh` stub that
writes its pid to `cgroup.procs`, then execs the sandbox), so every later process is inside.
After the run every process left in the groups is killed and the groups are removed.
"""

from __future__ import annotations

import functools
import os
import secrets
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox.limits import Limits

CGROUP_ROOT = Path("/sys/fs/cgroup")
ENV_PARENT = "COURSE_SANDBOX_CGROUP"
OFF = "off"  # as the parent: no cgroup, the watchdog alone (tests of that level, debugging)
V2_PARENT_NAME = "autograder-sandbox"
CONTROLLERS = ("memory", "pids", "cpu")
CFS_PERIOD_US = 100_000
# Processes of the sandbox itself inside the group besides the code: bwrap (or the namespaces
# level's first launcher), its init, the launcher that supervises the code.
SANDBOX_OVERHEAD_TASKS = 4

# The `sh` stub that puts itself into the groups and then runs the sandbox:
#   sh -c JOIN_SCRIPT sandbox-cgroup FILE... -- COMMAND...
JOIN_SCRIPT = (
    'while [ "$#" -gt 0 ] && [ "$1" != -- ]; do '
    'echo $$ > "$1" || { echo "sandbox: cannot join the cgroup $1" >&2; exit 125; }; shift; done; '
    'shift; exec "$@"'
)


class CgroupError(OSError):
    """A run's cgroup could not be made, limited or joined."""


@dataclass
class RunCgroup:
    """The cgroup(s) of one run: one folder (v2) or one per controller hierarchy (v1).

    Args:
        version: "v2" or "v1".
        dirs: The run's folders: {"unified": path} for v2, {controller: path} for v1.
    """

    version: str
    dirs: dict[str, Path]

    @property
    def label(self) -> str:
        """"cgroup v2" or "cgroup v1", as the `IsolationReport` names it."""
        return f"cgroup {self.version}"

    @property
    def procs_files(self) -> list[str]:
        """The `cgroup.procs` files the run's first process writes its pid to."""
        return [str(path / "cgroup.procs") for path in self.dirs.values()]

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """`argv` run by a stub that first joins this cgroup (exit status 125 if it cannot)."""
        return ["/bin/sh", "-c", JOIN_SCRIPT, "sandbox-cgroup", *self.procs_files, "--", *argv]

    def _memory_dir(self) -> Path:
        return self.dirs["unified"] if self.version == "v2" else self.dirs["memory"]

    def oom_kills(self) -> int:
        """How many processes of the run the kernel's OOM killer stopped at the memory limit."""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            text = (self._memory_dir() / name).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def memory_peak(self) -> int:
        """The largest memory the kernel charged to the run (page cache included), or 0."""
        v1_names = ("memory.memsw.max_usage_in_bytes", "memory.max_usage_in_bytes")
        names = ("memory.peak",) if self.version == "v2" else v1_names
        for name in names:
            try:
                return int((self._memory_dir() / name).read_text())
            except (OSError, ValueError):
                continue
        return 0

    def pids(self) -> set[int]:
        """The processes now in the run's groups."""
        found: set[int] = set()
        for path in self.dirs.values():
            try:
                found.update(int(line) for line in (path / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        return found

    def kill_all(self, rounds: int = 200) -> int:
        """SIGKILL every process in the groups until none is left; return how many were killed."""
        killed: set[int] = set()
        kill_file = self.dirs.get("unified", Path("/nonexistent")) / "cgroup.kill"
        if self.version == "v2" and kill_file.exists():
            try:
                kill_file.write_text("1")
            except OSError:
                pass
        for _ in range(rounds):
            alive = self.pids() - {os.getpid()}
            if not alive:
                break
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except OSError:
                    pass
            time.sleep(0.001)
        return len(killed)

    def remove(self, timeout_s: float = 5.0) -> None:
        """Kill what is left and remove the groups (waiting for the last exits to be reaped)."""
        self.kill_all()
        deadline = time.monotonic() + timeout_s
        for path in self.dirs.values():
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    self.kill_all(rounds=1)
                    time.sleep(0.01)


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fstype, options) of every cgroup filesystem mounted here."""
    found = []
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) >= 4 and fields[2] in ("cgroup", "cgroup2"):
            found.append((fields[1].replace("\\040", " "), fields[2], set(fields[3].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and under "" for v2 (/proc/self/cgroup)."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def v2_root() -> Path | None:
    """The mount point of the unified (v2) hierarchy, or None."""
    for mount, fstype, _ in _mounts():
        if fstype == "cgroup2":
            return Path(mount)
    return None


def v1_roots() -> dict[str, Path]:
    """The mount points of the v1 hierarchies of memory, pids and cpu that exist here."""
    roots: dict[str, Path] = {}
    for mount, fstype, options in _mounts():
        if fstype == "cgroup":
            for name in CONTROLLERS:
                if name in options and name not in roots:
                    roots[name] = Path(mount)
    return roots


def _controllers(path: Path) -> set[str]:
    try:
        return set((path / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise CgroupError(exc.errno, f"cannot write {value!r} to {path}: {exc.strerror}") from exc


def _enable_subtree(parent: Path) -> None:
    """Make memory, pids and cpu available to `parent`'s children (v2)."""
    try:
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
    except OSError as exc:
        raise CgroupError(exc.errno, f"cannot read {parent}/cgroup.subtree_control") from exc
    missing = [name for name in CONTROLLERS if name not in enabled]
    if missing:
        _write(parent / "cgroup.subtree_control", " ".join(f"+{name}" for name in missing))


def _v2_parent(configured: str | None) -> Path | None:
    """The v2 folder under which runs get their groups, made ready; None when v2 is not usable."""
    root = v2_root()
    if configured is not None:
        if os.pathsep in configured:
            return None  # one folder per v1 hierarchy
        if Path(configured).is_absolute():
            parent = Path(configured)
        elif root is not None:
            parent = root / configured
        else:
            return None
        if not set(CONTROLLERS) <= _controllers(parent):
            return None  # not a v2 folder with the controllers (maybe a v1 path)
        _enable_subtree(parent)
        return parent
    if root is None or os.geteuid() != 0 or not set(CONTROLLERS) <= _controllers(root):
        return None
    parent = root / V2_PARENT_NAME
    _enable_subtree(root)
    parent.mkdir(exist_ok=True)
    _enable_subtree(parent)
    return parent


def _v1_parents(configured: str | None) -> dict[str, Path] | None:
    """The v1 folder per controller under which runs get their groups, or None."""
    roots = v1_roots()
    if set(roots) != set(CONTROLLERS):
        return None
    if configured is not None and Path(configured).is_absolute():
        # Absolute folders, one per hierarchy, joined with os.pathsep (`delegate_cgroup`'s).
        parents = {}
        for folder in map(Path, configured.split(os.pathsep)):
            for name, root in roots.items():
                if folder.is_dir() and (folder == root or root in folder.parents):
                    parents[name] = folder
        return parents if set(parents) == set(CONTROLLERS) else None
    if configured is None and os.geteuid() != 0:
        return None
    own = _own_paths()
    parents = {}
    for name, root in roots.items():
        relative = configured if configured is not None else own.get(name, "/")
        parent = root / relative.lstrip("/")
        if not parent.is_dir():
            return None
        parents[name] = parent
    return parents


def _limit_v2(path: Path, limits: Limits) -> None:
    _write(path / "memory.max", str(limits.memory_bytes))
    if (path / "memory.swap.max").exists():
        _write(path / "memory.swap.max", "0")
    if (path / "memory.oom.group").exists():
        _write(path / "memory.oom.group", "1")  # an OOM kill takes the whole run at once
    _write(path / "pids.max", str(limits.max_processes + SANDBOX_OVERHEAD_TASKS))
    if limits.cpu_cores is not None:
        _write(path / "cpu.max", f"{max(1000, int(limits.cpu_cores * CFS_PERIOD_US))} {CFS_PERIOD_US}")


def _limit_v1(dirs: dict[str, Path], limits: Limits) -> None:
    memory = dirs["memory"]
    _write(memory / "memory.limit_in_bytes", str(limits.memory_bytes))
    if (memory / "memory.memsw.limit_in_bytes").exists():
        _write(memory / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
    if (memory / "memory.swappiness").exists():
        try:
            (memory / "memory.swappiness").write_text("0")
        except OSError:
            pass
    _write(dirs["pids"] / "pids.max", str(limits.max_processes + SANDBOX_OVERHEAD_TASKS))
    if limits.cpu_cores is not None:
        _write(dirs["cpu"] / "cpu.cfs_period_us", str(CFS_PERIOD_US))
        _write(dirs["cpu"] / "cpu.cfs_quota_us", str(max(1000, int(limits.cpu_cores * CFS_PERIOD_US))))


def _remove_stale(parents: list[Path]) -> None:
    """Remove the empty groups of runs whose grader died before it could (`run-<pid>-...`)."""
    for parent in parents:
        try:
            names = [entry.name for entry in os.scandir(parent) if entry.name.startswith("run-")]
        except OSError:
            continue
        for name in names:
            try:
                pid = int(name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if pid != os.getpid() and not os.path.exists(f"/proc/{pid}"):
                try:
                    if time.time() - (parent / name).stat().st_mtime > 60:  # not one just made
                        (parent / name).rmdir()
                except OSError:
                    pass


def create_run_cgroup(limits: Limits, parent: str | os.PathLike | None = None) -> tuple[RunCgroup | None, str]:
    """Make and limit the cgroup of one run.

    Args:
        limits: The run's limits.
        parent: Where to make it (see the module docstring); None reads `COURSE_SANDBOX_CGROUP`.

    Returns:
        (the run's cgroup, "") or (None, why no cgroup could be used here).
    """
    configured = os.fspath(parent) if parent is not None else os.environ.get(ENV_PARENT) or None
    if configured == OFF:
        return None, f"cgroups turned off ({ENV_PARENT}={OFF} or cgroup_parent={OFF!r})"
    name = f"run-{os.getpid()}-{secrets.token_hex(4)}"
    reasons = []
    try:
        v2_parent = _v2_parent(configured)
    except OSError as exc:
        v2_parent, _ = None, reasons.append(f"cgroup v2: {exc}")
    if v2_parent is not None:
        _remove_stale([v2_parent])
        group = RunCgroup("v2", {"unified": v2_parent / name})
        try:
            group.dirs["unified"].mkdir()
            _limit_v2(group.dirs["unified"], limits)
            return group, ""
        except OSError as exc:
            group.remove()
            reasons.append(f"cgroup v2: {exc}")
    try:
        v1_parents = _v1_parents(configured)
    except OSError as exc:
        v1_parents, _ = None, reasons.append(f"cgroup v1: {exc}")
    if v1_parents is not None:
        _remove_stale(list(v1_parents.values()))
        group = RunCgroup("v1", {})
        try:
            for controller, folder in v1_parents.items():
                group.dirs[controller] = folder / name
                group.dirs[controller].mkdir()
            _limit_v1(group.dirs, limits)
            return group, ""
        except OSError as exc:
            group.remove()
            reasons.append(f"cgroup v1: {exc}")
    if not reasons:
        reasons.append(
            "no cgroup hierarchy with memory, pids and cpu that this user may manage "
            f"(run as root, or delegate one and name it in {ENV_PARENT})"
        )
    return None, "; ".join(reasons)


@functools.lru_cache(maxsize=None)
def probe(parent: str | None = None) -> str:
    """"cgroup v2", "cgroup v1" or "watchdog": what would enforce a run's limits here now."""
    group, _ = create_run_cgroup(Limits(), parent)
    if group is None:
        return "watchdog"
    group.remove()
    return group.label


def delegate_cgroup(
    name: str, uid: int, gid: int, *, parent: str | os.PathLike | None = None, move_self: bool = False
) -> list[Path]:
    """Make a cgroup subtree an unprivileged grader user may make its runs' groups in (as root).

    Then run the grader as that user with
    `COURSE_SANDBOX_CGROUP=<parent_setting(returned folders)>`. With v1, a process may move
    itself into a group its user owns, so the grader may run anywhere. With v2, moving a
    process needs write access to the common ancestor's `cgroup.procs`, so the grader must
    itself run inside the delegated subtree: pass `move_self=True` from the root process that
    then drops to the user (it moves into the leaf `<name>/grader`; the runs become its
    siblings), or start it there (a systemd unit with `Delegate=yes`).

    Example:
        >>> folders = delegate_cgroup("autograder", uid, gid, move_self=True)  # doctest: +SKIP
        >>> os.environ["COURSE_SANDBOX_CGROUP"] = parent_setting(folders)     # doctest: +SKIP
        >>> os.setgid(gid); os.setuid(uid)                                      # doctest: +SKIP

    Args:
        name: The subtree's name, relative to `parent`, or by default to the top of the v2
            hierarchy, or to the caller's own cgroup in each v1 hierarchy.
        uid: The grader user's id.
        gid: The grader user's group id.
        parent: For v2, the folder to make it in.
        move_self: Move this process into the subtree (v2: into its leaf `grader`).

    Returns:
        The folders made (one for v2, one per controller for v1).

    Raises:
        CgroupError: If no hierarchy with memory, pids and cpu is there, or writing fails.
    """
    made: list[Path] = []
    root = v2_root()
    if root is not None and set(CONTROLLERS) <= _controllers(root):
        base = Path(parent) if parent is not None else root
        _enable_subtree(base)
        folder = base / name.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        _enable_subtree(folder)
        files = ("cgroup.procs", "cgroup.threads", "cgroup.subtree_control")
        made.append(folder)
    else:
        roots = v1_roots()
        if set(roots) != set(CONTROLLERS):
            raise CgroupError(0, "no cgroup hierarchy with memory, pids and cpu here")
        own = _own_paths()
        for controller, root_dir in roots.items():
            folder = root_dir / own.get(controller, "/").lstrip("/") / name.lstrip("/")
            folder.mkdir(parents=True, exist_ok=True)
            made.append(folder)
        files = ("cgroup.procs", "tasks")
    own_leaves = [made[0] / "grader"] if move_self and len(made) == 1 else []
    for leaf in own_leaves:
        leaf.mkdir(exist_ok=True)
    for folder in [*made, *own_leaves]:
        os.chown(folder, uid, gid)
        for file in files:
            if (folder / file).exists():
                os.chown(folder / file, uid, gid)
    if move_self:
        for folder in own_leaves or made:
            move_into(folder)
    return made


def parent_setting(folders: Sequence[Path]) -> str:
    """The `COURSE_SANDBOX_CGROUP` (or `cgroup_parent`) value naming delegated `folders`."""
    return os.pathsep.join(str(folder) for folder in folders)


def undelegate_cgroup(folders: Sequence[Path]) -> None:
    """Remove delegated folders made by `delegate_cgroup` (their run groups must be gone)."""
    for folder in folders:
        for child in sorted((p for p in folder.glob("**/") if p != folder), key=lambda p: -len(p.parts)):
            try:
                child.rmdir()
            except OSError:
                pass
        try:
            folder.rmdir()
        except OSError:
            pass


def move_into(folder: Path, pid: int | None = None) -> None:
    """Move process `pid` (default: this one) into the cgroup `folder`."""
    _write(folder / "cgroup.procs", str(pid or os.getpid()))
