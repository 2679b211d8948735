"""A real single-node Slurm cluster for the tests: Debian's slurm-wlm and munge, started as root.

The cluster lives in a temporary folder (its own slurm.conf, state, spool, logs and free ports),
so it never touches a cluster the machine already runs; `SLURM_CONF` points Slurm's tools at it
for this session, and every daemon it started is stopped at the end. Where it cannot start (not
root, or the packages missing) the tests that need it are skipped with the reason, unless
`COURSE_REQUIRE_SLURM=1` (as `.ci/run` sets), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "sinfo", "scontrol")


def _unavailable(reason: str):
    if os.environ.get("COURSE_REQUIRE_SLURM") == "1":
        pytest.fail(f"COURSE_REQUIRE_SLURM=1 but no Slurm cluster can start here: {reason}")
    pytest.skip(f"no Slurm cluster can start here: {reason}")


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
    if not key.exists():
        subprocess.run(["mungekey", "--create"], check=True, capture_output=True)
        shutil.chown(key, "munge", "munge")
    subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True, capture_output=True)
    for _ in range(50):
        if _munge_running():
            pid = Path("/run/munge/munged.pid")
            return int(pid.read_text()) if pid.exists() else None
        time.sleep(0.1)
    _unavailable("munged started but does not answer `munge -n`")
    return None


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """SLURM_CONF of a running single-node cluster (this machine's cores and 80% of its memory)."""
    if os.geteuid() != 0:
        _unavailable("the tests start slurmctld and slurmd as root; run them as root")
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        _unavailable(f"missing {', '.join(missing)} (install slurm-wlm and munge: scripts/install-system-deps.sh)")
    root = tmp_path_factory.mktemp("slurm")
    for name in ("state", "spool", "log"):
        (root / name).mkdir()
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
    munged = _start_munge()
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started = []
    try:
        for daemon in ("slurmctld", "slurmd"):
            run = subprocess.run([daemon, "-f", str(conf)], env=env, capture_output=True, text=True, check=False)
            if run.returncode != 0:
                _unavailable(f"{daemon} did not start: {(run.stderr or run.stdout)[-500:]}")
            started.append(root / f"{daemon}.pid")
        deadline = time.monotonic() + 90
        state = ""
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=env, capture_output=True, text=True, check=False)
            state = out.stdout.strip()
            if state == "idle":
                break
            time.sleep(1)
        else:
            log = (root / "log" / "slurmctld.log").read_text(errors="replace")[-1500:]
            _unavailable(f"the node never became idle (sinfo: {state!r}); slurmctld.log ends: {log}")
        previous = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(conf)
        yield conf
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
    finally:
        subprocess.run(["scancel", "--full", "--user=root"], env=env, capture_output=True, check=False)
        for pid_file in reversed(started):
            _stop(pid_file)
        if munged is not None:
            _kill(munged)


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
