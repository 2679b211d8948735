"""A real single-node Slurm cluster from Debian's slurm-wlm and munge, started as root, for the
tests (conftest.py) and benchmarks/slurm_benchmark.py.

The cluster lives in one folder (its own slurm.conf, state, spool, logs and free ports), so it
never touches a cluster the machine already runs. `start` returns it running; `stop` stops every
daemon it started (munged only if none was running). `ClusterUnavailable` says why it cannot start.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "munged", "munge", "runuser", "sbatch", "squeue", "scancel", "sinfo", "scontrol")


class ClusterUnavailable(RuntimeError):
    """Why no cluster can start here (not root, packages missing, a daemon that fails)."""


def _unavailable(reason: str):
    raise ClusterUnavailable(reason)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _munge_running() -> bool:
    return subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode == 0


def _start_munge() -> int | None:
    """Start munged as the munge user when no munge daemon answers; its pid, or None if one already ran."""
    if _munge_running():
        return None
    run_dir = Path("/run/munge")
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(run_dir, "munge", "munge")
    key = Path("/etc/munge/munge.key")
    try:
        if not key.exists():
            subprocess.run(["mungekey", "--create"], check=True, capture_output=True)
            shutil.chown(key, "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True, capture_output=True, text=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        _unavailable(f"munged did not start: {getattr(exc, 'stderr', '') or exc}")
    for _ in range(50):
        if _munge_running():
            pid = Path("/run/munge/munged.pid")
            return int(pid.read_text()) if pid.exists() else None
        time.sleep(0.1)
    _unavailable("munged started but does not answer `munge -n`")
    return None


@dataclass
class Cluster:
    """A running cluster: `conf` is its slurm.conf (set SLURM_CONF to it for Slurm's tools)."""

    root: Path
    conf: Path
    pid_files: list[Path] = field(default_factory=list)
    munged: int | None = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def stop(self) -> None:
        subprocess.run(["scancel", "--full", "--user=root"], env=self.env, capture_output=True, check=False)
        for pid_file in reversed(self.pid_files):
            _stop(pid_file)
        if self.munged is not None:
            _kill(self.munged)


def start(root: Path, timeout: float = 90) -> Cluster:
    """Start a single-node cluster in the empty folder `root` (this machine's cores, 80% of its memory).

    Raises:
        ClusterUnavailable: not root, a package missing, or a daemon that does not come up.
    """
    if os.geteuid() != 0:
        _unavailable("slurmctld and slurmd are started as root here; run as root")
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        _unavailable(f"missing {', '.join(missing)} (install slurm-wlm and munge: scripts/install-system-deps.sh)")
    for name in ("state", "spool", "log"):
        (root / name).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0]
    memory_mib = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.8)
    ctld_port, d_port = _free_ports(2)
    conf = root / "slurm.conf"
    conf.write_text(f"""ClusterName=coursetest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MpiDefault=none
MinJobAge=600
NodeName={host} CPUs={os.cpu_count()} RealMemory={memory_mib} State=UNKNOWN
PartitionName=grading Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    cluster = Cluster(root, conf, munged=_start_munge())
    try:
        for daemon in ("slurmctld", "slurmd"):
            run = subprocess.run([daemon, "-f", str(conf)], env=cluster.env, capture_output=True, text=True, check=False)
            if run.returncode != 0:
                _unavailable(f"{daemon} did not start: {(run.stderr or run.stdout)[-500:]}")
            cluster.pid_files.append(root / f"{daemon}.pid")
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=cluster.env, capture_output=True, text=True, check=False)
            state = out.stdout.strip()
            if state == "idle":
                return cluster
            time.sleep(1)
        log = (root / "log" / "slurmctld.log").read_text(errors="replace")[-1500:]
        _unavailable(f"the node never became idle (sinfo: {state!r}); slurmctld.log ends: {log}")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _stop(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
