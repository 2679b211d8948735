"""Grade a class on a Slurm cluster: `course slurm grade`.

The driver (this module, on a login node) does what Slurm cannot: it checks that the paths the
nodes need exist, builds the grader's shared inputs once (in the cache every task reads), splits
the batch into N shards (`autograder.grading.shards`), writes an `sbatch` script whose array has
one task per shard, submits it, follows it with `squeue`, resubmits each failed task once, then
gathers the shards into one gradebook and prints the class table.

Each task runs `course grade --shard K/N` with the same flags a local `course grade` gets, so a
batch graded through Slurm gives the same results as one graded on one machine, and a task that
runs again (resubmitted, or the whole command run again after an interruption) skips what its
shard already graded. A task is done when its shard's signed plan says it finished; a task that
left the queue without that (cancelled, timed out, killed for memory, a node that failed) has
failed, whatever Slurm's accounting says (this needs no `sacct`, which many small clusters lack).

Assumed: a filesystem shared by this machine and the nodes, holding the submissions, `--out`,
the Python environment, the course and the cache. The script checks each of those paths on the
node first and stops with a line naming the one it cannot reach.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autograder.grading.shards import Shard, read_plan

FOLDER = "slurm"  # OUT/slurm/: the script, the job ids and the tasks' logs
SETUP_MINUTES = 10  # a task's time beyond grading its submissions: Python and Keras start, cached inputs load
PARENT_MEMORY_GB = 2  # the task's own process (discovery, results) beside its grading child
LOCAL_ONLY = ("/tmp", "/var/tmp", "/dev/shm", "/run")  # node-local on most clusters
ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT"}


class SlurmError(RuntimeError):
    """Slurm's tools are missing or refused a command (the message holds what they said)."""


@dataclass(frozen=True)
class SlurmPlan:
    """What to submit: the `course grade` flags every task gets and what each task asks of Slurm."""

    submissions: tuple[Path, ...]
    out: Path
    profile: str
    shards: int
    grade_args: tuple[str, ...]  # --lab, --config, paths, --jobs ...: passed to every task's `course grade`
    time_minutes: int
    memory_gb: int
    cpus_per_task: int = 2
    gpus_per_task: int = 0
    partition: str | None = None
    max_parallel: int | None = None
    sbatch_args: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)  # exported in the script (KERAS_BACKEND, ...)
    needed: tuple[Path, ...] = ()  # what every node must reach (checked first in the script)
    workdir: Path = field(default_factory=Path.cwd)
    job_name: str = "course-grade"

    @property
    def folder(self) -> Path:
        return self.out / FOLDER

    @property
    def script_path(self) -> Path:
        return self.folder / "grade.sbatch"


@dataclass(frozen=True)
class Request:
    """What the TA asked for on the command line (None: derived from the batch and the profile)."""

    shards: int | None = None  # default: PER_TASK submissions a task
    jobs: int = 1
    cpus_per_task: int = 2
    gpus_per_task: int | None = None  # default: the profile's gpus
    partition: str | None = None
    max_parallel: int | None = None
    mem_gb: int | None = None
    time_minutes: int | None = None
    sbatch_args: tuple[str, ...] = ()
    user: str | None = None


PER_TASK = 4  # submissions a task grades when --shards is not given


def count_submissions(ctx, paths: Sequence[Path]) -> int:
    """How many submissions the batch holds (as `course grade` finds them)."""
    import tempfile  # noqa: PLC0415

    from autograder.grading.submissions import discover  # noqa: PLC0415

    modules = tuple(ctx.config.parts[p].module for p in ctx.config.part_names)
    with tempfile.TemporaryDirectory(prefix="course-count-") as scratch:
        return len(discover(list(paths), modules, Path(scratch)))


def plan_for(ctx, profile_name: str, submissions: Sequence[Path], out: Path, request: Request) -> tuple[SlurmPlan, int]:
    """The job array for `submissions` under `profile_name`, and how many submissions the batch holds."""
    profile = ctx.profile(profile_name)
    count = count_submissions(ctx, submissions)
    shards = min(request.shards or math.ceil(count / PER_TASK), max(count, 1))
    minutes, memory = task_resources(math.ceil(count / shards), profile.worker_seconds, profile.worker_memory_gb, request.jobs)
    loc = ctx.locations
    grade_args = ["--lab", ctx.lab, "--config", str(ctx.config_path), "--jobs", str(request.jobs), "--data-dir", str(loc.data_dir),
                  "--weights-dir", str(loc.weights_dir), "--cache-dir", str(loc.cache_dir)]
    if request.user:
        grade_args += ["--user", request.user]
    out = Path(out).resolve()
    resolved = tuple(Path(p).resolve() for p in submissions)
    needed = [*resolved, Path(sys.executable), loc.root, ctx.config_path, loc.data_dir, loc.weights_dir, loc.cache_dir, out.parent]
    plan = SlurmPlan(
        submissions=resolved, out=out, profile=profile_name, shards=shards, grade_args=tuple(grade_args),
        time_minutes=request.time_minutes or minutes, memory_gb=request.mem_gb or memory, cpus_per_task=request.cpus_per_task,
        gpus_per_task=profile.gpus if request.gpus_per_task is None else request.gpus_per_task, partition=request.partition,
        max_parallel=request.max_parallel, sbatch_args=request.sbatch_args, environment=environment_for_tasks(),
        needed=tuple(dict.fromkeys(needed)), workdir=loc.root, job_name=f"course-{ctx.lab}",
    )
    return plan, count


def grade(ctx, plan: SlurmPlan, console: Console, poll_seconds: float = 10.0) -> dict[int, TaskState]:
    """Check what the nodes need, build the grader's shared inputs once, then `run` the array.

    Raises:
        SlurmError: a path the nodes need is missing, or Slurm refused a command.
    """
    from autograder.grading.inputs import prepare_inputs  # noqa: PLC0415

    for folder in (ctx.locations.cache_dir, plan.out):  # ours to make (a first run has neither)
        folder.mkdir(parents=True, exist_ok=True)
    problems, warnings = reachability(plan.needed, cluster_nodes())
    for line in warnings:
        console.print(f"warning: {line}", style="yellow", markup=False, highlight=False)
    if problems:
        raise SlurmError("the nodes could not reach what they need: " + "; ".join(problems))
    prepare_inputs(ctx, plan.profile, console=console)  # once, here: every task reads it from the shared cache
    return run(plan, console, poll_seconds=poll_seconds)


def task_resources(per_task: int, worker_seconds: float, worker_memory_gb: float, jobs: int) -> tuple[int, int]:
    """(minutes, GiB) one task asks for: its share of submissions at the grader's own limits.

    A submission's grading is capped at `TIME_FACTOR` x the profile's `worker_seconds` and its
    grading child at `MEMORY_FACTOR` x `worker_memory_gb` (`autograder.grading.batch`), so a task
    that holds to them is never killed by Slurm first.

    Example:
        >>> task_resources(per_task=4, worker_seconds=300, worker_memory_gb=4, jobs=1)
        (90, 14)
    """
    from autograder.grading.batch import MEMORY_FACTOR, TIME_FACTOR  # noqa: PLC0415

    jobs = max(1, jobs)
    minutes = SETUP_MINUTES + math.ceil(math.ceil(per_task / jobs) * TIME_FACTOR * worker_seconds / 60)
    memory = math.ceil(jobs * MEMORY_FACTOR * worker_memory_gb + PARENT_MEMORY_GB)
    return minutes, memory


def render_script(plan: SlurmPlan) -> str:
    """The sbatch script: an array of one task per shard, each running `course grade --shard K/N`."""
    logs = plan.folder / "logs"
    hours, minutes = divmod(plan.time_minutes, 60)
    array = f"1-{plan.shards}" + (f"%{plan.max_parallel}" if plan.max_parallel else "")
    directives = [
        f"--job-name={plan.job_name}",
        f"--array={array}",
        f"--output={logs}/task-%a-job-%A.out",
        f"--time={hours:d}:{minutes:02d}:00",
        f"--mem={plan.memory_gb}G",
        f"--cpus-per-task={plan.cpus_per_task}",
        "--ntasks=1",
    ]
    if plan.gpus_per_task:
        directives.append(f"--gpus-per-task={plan.gpus_per_task}")
    if plan.partition:
        directives.append(f"--partition={plan.partition}")
    directives += list(plan.sbatch_args)
    command = [
        sys.executable, "-m", "autograder.cli", "grade", *map(str, plan.submissions),
        "--out", str(plan.out), "--profile", plan.profile, *plan.grade_args,
    ]
    quoted = " ".join(shlex.quote(part) for part in command)
    lines = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives), ""]
    lines += [
        "# Written by `course slurm grade`: one task per shard of the batch. A task runs again",
        "# (resubmitted, or the command run again) skipping what its shard already graded.",
        "# Needs a filesystem shared with the nodes: the paths below are checked first.",
        "set -u",
        f"for path in {' '.join(shlex.quote(str(p)) for p in plan.needed)}; do",
        '  if [ ! -e "$path" ]; then',
        '    echo "course slurm: $path is not reachable on $(hostname); the grader needs a filesystem shared with the nodes" >&2',
        "    exit 2",
        "  fi",
        "done",
    ]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(plan.environment.items())]
    lines += [
        f"cd {shlex.quote(str(plan.workdir))}",
        f'{quoted} --shard "${{SLURM_ARRAY_TASK_ID}}/{plan.shards}"',
        "rc=$?",
        "# 3: graded, but some submissions could not be (each has its row): the shard is done.",
        'if [ "$rc" -eq 3 ]; then exit 0; fi',
        'exit "$rc"',
        "",
    ]
    return "\n".join(lines)


# -- Slurm's tools ---------------------------------------------------------------------------------


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SlurmError(f"Slurm's `{name}` is not on PATH: run `course slurm grade` on a machine that can submit jobs (a login node)")
    return path


def _run(args: Sequence[str], timeout: float = 60) -> str:
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise SlurmError(f"`{' '.join(args)}` did not answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()[-1000:]
        raise SlurmError(f"`{' '.join(args)}` failed (exit {done.returncode}): {said}")
    return done.stdout


def submit(script: Path, tasks: Sequence[int] | None = None) -> str:
    """Submit `script` (only array `tasks` when given); return the job id."""
    args = [_tool("sbatch"), "--parsable"]
    if tasks:
        args.append("--array=" + ",".join(str(k) for k in sorted(tasks)))
    answer = _run([*args, str(script)]).strip()
    job = answer.split(";")[0].strip()
    if not job.isdigit():
        raise SlurmError(f"sbatch answered {answer!r}; expected a job id")
    return job


def queued(jobs: Sequence[str]) -> dict[tuple[str, int], str]:
    """(job, array task) -> its state, for the tasks of `jobs` still in the queue."""
    if not jobs:
        return {}
    out = _run([_tool("squeue"), "--noheader", "--array", f"--jobs={','.join(jobs)}", "--format=%F|%K|%T"])
    states = {}
    for line in out.splitlines():
        job, _, rest = line.strip().partition("|")
        task, _, state = rest.partition("|")
        if task.isdigit():
            states[(job, int(task))] = state
    return states


def final_state(job: str, task: int) -> str:
    """How Slurm says a task ended ("CANCELLED", "TIMEOUT", "OUT_OF_MEMORY" ...), or "" when it no longer knows."""
    try:
        out = _run([_tool("scontrol"), "show", "job", "--oneliner", f"{job}_{task}"], timeout=30)
    except SlurmError:
        return ""
    for item in out.split():
        if item.startswith("JobState="):
            return item.removeprefix("JobState=")
    return ""


def cluster_nodes() -> int:
    """How many nodes the cluster has (0 when `sinfo` cannot say)."""
    try:
        return len({line.strip() for line in _run([_tool("sinfo"), "--noheader", "--format=%n"]).splitlines() if line.strip()})
    except SlurmError:
        return 0


# -- checks before submitting ----------------------------------------------------------------------


def reachability(paths: Sequence[Path], nodes: int) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the paths every node needs: missing ones are errors; node-local
    ones (/tmp ...) are warnings on a cluster of more than one node."""
    errors, warnings = [], []
    for path in paths:
        if not path.exists():
            errors.append(f"{path} does not exist")
        elif nodes != 1 and str(path.resolve()).startswith(tuple(p + "/" for p in LOCAL_ONLY)):
            warnings.append(f"{path} is on a node-local filesystem on most clusters; the nodes may not see it")
    return errors, warnings


# -- following the array -----------------------------------------------------------------------------


@dataclass
class TaskState:
    job: str
    retried: bool = False
    done: bool = False
    failed: str = ""  # why, once it failed for good


def shard_done(plan: SlurmPlan, k: int) -> bool:
    """Whether shard k's signed plan says it finished."""
    try:
        return bool(read_plan(plan.out / Shard(k, plan.shards).folder).get("complete"))
    except ValueError:
        return False


def _graded_count(plan: SlurmPlan) -> int:
    from autograder.grading.batch import RECORD, STAFF  # noqa: PLC0415

    return sum(len(list((plan.out / Shard(k, plan.shards).folder / STAFF).glob(f"*/{RECORD}"))) for k in range(1, plan.shards + 1))


def _log_tail(plan: SlurmPlan, job: str, k: int, lines: int = 5) -> str:
    path = plan.folder / "logs" / f"task-{k}-job-{job}.out"
    try:
        text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text if line.strip())[-600:]


def _save_jobs(plan: SlurmPlan, tasks: dict[int, TaskState]) -> None:
    from autograder.reports.atomic import atomic_write_text  # noqa: PLC0415

    state = {str(k): {"job": t.job, "retried": t.retried} for k, t in tasks.items()}
    atomic_write_text(plan.folder / "jobs.json", json.dumps({"shards": plan.shards, "tasks": state}, indent=1) + "\n")


def _load_jobs(plan: SlurmPlan) -> dict[int, TaskState]:
    try:
        data = json.loads((plan.folder / "jobs.json").read_text())
        if data.get("shards") != plan.shards:
            return {}
        return {int(k): TaskState(str(v["job"]), bool(v.get("retried"))) for k, v in data["tasks"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def run(plan: SlurmPlan, console: Console, poll_seconds: float = 10.0, on_submit: Callable[[str], None] | None = None) -> dict[int, TaskState]:
    """Submit the shards not yet done, follow them, resubmit each failed task once; return every task's state.

    A task of an earlier run of the same command that is still queued is followed, not submitted
    again. Ctrl-C stops following (the job keeps running): run the command again to resume.
    """
    plan.folder.mkdir(parents=True, exist_ok=True)
    (plan.folder / "logs").mkdir(exist_ok=True)
    plan.script_path.write_text(render_script(plan))
    previous = _load_jobs(plan)
    still = queued(sorted({t.job for t in previous.values()})) if previous else {}
    tasks: dict[int, TaskState] = {}
    todo = []
    for k in range(1, plan.shards + 1):
        if shard_done(plan, k):
            tasks[k] = TaskState(previous[k].job if k in previous else "", done=True)
        elif k in previous and still.get((previous[k].job, k)) in ACTIVE:
            tasks[k] = previous[k]
        else:
            todo.append(k)
    if todo:
        job = submit(plan.script_path, todo if len(todo) < plan.shards else None)
        console.print(f"Submitted job array {job}: {len(todo)} task(s), one per shard (script: {plan.script_path})",
                      markup=False, highlight=False)
        if on_submit:
            on_submit(job)
        for k in todo:
            tasks[k] = TaskState(job)
    else:
        console.print("Every shard is done or still queued from an earlier run; following it.", markup=False, highlight=False)
    _save_jobs(plan, tasks)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("Shards", total=plan.shards)
        while True:
            open_tasks = {k: t for k, t in tasks.items() if not t.done and not t.failed}
            states = queued(sorted({t.job for t in open_tasks.values()}))
            for k, task in open_tasks.items():
                if states.get((task.job, k)) in ACTIVE:
                    continue
                if shard_done(plan, k):
                    task.done = True
                    continue
                why = final_state(task.job, k) or "it left the queue"
                tail = _log_tail(plan, task.job, k)
                why = f"task {k} (job {task.job}) ended {why} without finishing its shard" + (f"; its log ends: {tail}" if tail else "")
                if task.retried:
                    task.failed = why
                    console.print(f"{why}. Not resubmitted again.", style="red", markup=False, highlight=False)
                    continue
                job = submit(plan.script_path, [k])
                console.print(f"{why}. Resubmitted as job {job}.", style="yellow", markup=False, highlight=False)
                tasks[k] = TaskState(job, retried=True)
                if on_submit:
                    on_submit(job)
            _save_jobs(plan, tasks)
            running = sum(1 for s in states.values() if s == "RUNNING")
            pending = sum(1 for s in states.values() if s == "PENDING")
            finished = sum(1 for t in tasks.values() if t.done or t.failed)
            progress.update(bar, completed=finished,
                            description=f"Shards ({running} running, {pending} pending; {_graded_count(plan)} submission(s) graded)")
            if finished == plan.shards:
                return tasks
            time.sleep(poll_seconds)


def environment_for_tasks() -> dict[str, str]:
    """What the script exports: the backend and the course's paths from this shell, when set."""
    keys = ("KERAS_BACKEND", "COURSE_DATA_DIR", "COURSE_WEIGHTS_DIR", "COURSE_CACHE_DIR", "COURSE_LAB", "TF_CPP_MIN_LOG_LEVEL")
    return {key: os.environ[key] for key in keys if os.environ.get(key)}
