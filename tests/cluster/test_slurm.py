"""Grading a class on Slurm (#14): shards, `course gather`, and `course slurm grade` on a real
single-node cluster (see conftest.py), against `course grade` on this machine.

The batch is four submissions of the digits lab (the reference, the stubs and two mistakes from
its catalogue) on the `ci` profile: the same grading machinery as every lab, in a minute.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.grading.shards import Shard, ShardError, assign
from tests.conftest import TEST_PROFILE
from tests.labs.test_digits import MUTANTS

pytestmark = pytest.mark.heavy(seconds=130)

PICKED = ("dense_units_hard_coded", "convnet_rate_ignored")


def course(*args: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True, text=True, timeout=timeout,
                          check=False, env={**os.environ, "COLUMNS": "200", **(env or {})})


def flags(digits, cache: Path | None = None) -> list[str]:
    loc = digits.locations
    return ["--lab", digits.lab, "--profile", TEST_PROFILE, "--config", str(digits.config_path), "--data-dir", str(loc.data_dir),
            "--cache-dir", str(cache or loc.cache_dir)]


@pytest.fixture(scope="module")
def cold_cache(tmp_path_factory) -> Path:
    """A cache folder that does not exist yet: the Slurm run comes first and must make it, as on a first run."""
    return tmp_path_factory.mktemp("cold") / "cache"


def rows(gradebook: Path) -> dict[str, dict]:
    """Submission -> what must agree wherever it was graded (scores, per-part scores, content)."""
    with gradebook.open() as f:
        return {r["submission"]: {k: v for k, v in r.items() if k != "execution_time"} for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def batch(digits, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("class") / "batch"
    modules = [spec.module for spec in digits.config.parts.values()]
    for name, source in (("reference", digits.solutions_dir), ("stubs", digits.release_dir)):
        (folder / name).mkdir(parents=True)
        for module in modules:
            shutil.copy(source / module, folder / name / module)
    for mutant in (m for m in MUTANTS if m.name in PICKED):
        mutant.apply(folder / "reference", folder / mutant.name)
    return folder


# -- shards, without a cluster -------------------------------------------------------------------


def test_shards_are_deterministic_balanced_and_cover_the_batch():
    keys = [(f"student{i}", f"{(i * 7919) % 1000:04d}") for i in range(11)]
    owner = assign(keys, 4)
    assert owner == assign(list(reversed(keys)), 4)  # the order the batch was found in does not matter
    sizes = [list(owner.values()).count(k) for k in range(1, 5)]
    assert sorted(owner) == sorted(name for name, _ in keys) and max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", ""])
def test_a_bad_shard_is_refused_naming_what_was_received(text):
    with pytest.raises(ShardError, match="K/N"):
        Shard.parse(text)


def test_course_grade_refuses_a_bad_shard_before_grading(batch, tmp_path):
    run = course("grade", str(batch), "--shard", "3/2", "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "Expected --shard K/N" in run.stderr and "'3/2'" in run.stderr
    assert not (tmp_path / "out").exists()


def test_gather_without_shards_says_what_it_expected(tmp_path):
    run = course("gather", str(tmp_path))
    assert run.returncode == 2 and "shard-K-of-N" in run.stderr


def test_dry_run_prints_an_array_of_one_task_per_shard_with_the_profiles_limits(digits, batch, tmp_path):
    run = course("slurm", "grade", str(batch), "--out", str(tmp_path / "out"), *flags(digits), "--shards", "2",
                 "--max-parallel", "1", "--gpus-per-task", "1", "--partition", "gpu", "--sbatch-arg=--account=cs101", "--dry-run")
    assert run.returncode == 0, run.stderr[-2000:]
    script = run.stdout
    for line in ("#SBATCH --array=1-2%1", "#SBATCH --gpus-per-task=1", "#SBATCH --partition=gpu", "#SBATCH --account=cs101"):
        assert line in script
    assert '--shard "${SLURM_ARRAY_TASK_ID}/2"' in script and f"--out {tmp_path / 'out'}" in script
    assert str(batch) in script.split("for path in", 1)[1].split("\n", 1)[0]  # checked on the node first
    assert not (tmp_path / "out").exists()  # nothing written, nothing submitted


def test_a_gpu_profile_asks_each_task_for_a_gpu_without_changing_what_it_grades(ctx, tmp_path):
    from autograder.calibration import profile_digest

    gpu = ctx.profile("gpu")
    assert gpu.gpus == 1 and ctx.profile("smoke").gpus == 0
    assert profile_digest(gpu) == profile_digest(gpu.model_copy(update={"gpus": 0}))  # calibrations and cached inputs stay valid
    run = course("slurm", "grade", str(ctx.release_dir), "--out", str(tmp_path / "out"), "--lab", ctx.lab, "--profile", "gpu",
                 "--config", str(ctx.config_path), "--dry-run")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "#SBATCH --gpus-per-task=1" in run.stdout and "#SBATCH --array=1-1" in run.stdout


# -- on the real cluster ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded_locally(digits, batch, cold_cache, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "graded"
    run = course("grade", str(batch), "--out", str(out), "--jobs", "2", *flags(digits, cold_cache))
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def _squeue(job: str) -> dict[str, str]:
    out = subprocess.run(["squeue", "--noheader", "--array", f"--jobs={job}", "--format=%K|%T"], capture_output=True, text=True,
                         check=False).stdout
    return dict(line.strip().split("|", 1) for line in out.splitlines() if "|" in line)


@pytest.fixture(scope="module")
def through_slurm(slurm_cluster, digits, batch, cold_cache, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, str]:
    """The batch through `course slurm grade` as a 2-task array; task 1 is cancelled while it runs."""
    out = tmp_path_factory.mktemp("slurm") / "graded"
    driver = subprocess.Popen(
        [sys.executable, "-m", "autograder.cli", "slurm", "grade", str(batch), "--out", str(out), *flags(digits, cold_cache), "--shards", "2",
         "--cpus-per-task", "1", "--mem-gb", "4", "--poll-seconds", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    cancelled = ""
    try:
        deadline = time.monotonic() + 600
        jobs = out / "slurm" / "jobs.json"
        while not cancelled and time.monotonic() < deadline and driver.poll() is None:
            if jobs.exists():
                job = json.loads(jobs.read_text())["tasks"]["1"]["job"]
                if _squeue(job).get("1") == "RUNNING":
                    time.sleep(3)  # into its grading
                    subprocess.run(["scancel", f"{job}_1"], check=True)
                    cancelled = f"{job}_1"
            time.sleep(0.3)
        stdout, stderr = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
    return out, subprocess.CompletedProcess(driver.args, driver.returncode, stdout, stderr), cancelled


@pytest.mark.slow
def test_a_batch_through_slurm_gives_the_local_gradebook_after_a_cancelled_task(through_slurm, graded_locally):
    out, run, cancelled = through_slurm
    assert cancelled, "task 1 was never seen running"
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Resubmitted as job" in run.stderr and "CANCELLED" in run.stderr, run.stderr[-3000:]
    local = rows(graded_locally / "gradebook.csv")
    assert rows(out / "gradebook.csv") == local
    assert {r["submission"]: float(r["score"]) for r in local.values()}["reference"] == 100.0
    assert float(local["stubs"]["score"]) == 0.0
    assert all(0 < float(local[name]["score"]) < 100 for name in PICKED)
    assert len(list((out / "slurm" / "logs").glob("task-1-job-*.out"))) == 2  # the cancelled task and its resubmission
    # the gathered batch is a batch like any other: its records verify and feedback is in place
    assert all((out / name / "feedback.md").is_file() for name in local)
    assert course("gather", str(out)).returncode == 0


@pytest.mark.slow
def test_gather_reports_a_missing_shard_and_a_forged_plan(through_slurm, tmp_path):
    out, _, _ = through_slurm
    copy = tmp_path / "graded"
    shutil.copytree(out, copy, symlinks=True)
    shutil.rmtree(copy / "shard-2-of-2")
    for name in ("gradebook.csv",):
        (copy / name).unlink()
    run = course("gather", str(copy))
    assert run.returncode == 4 and "shard 2/2" in run.stderr, run.stderr
    plan = copy / "shard-1-of-2" / "shard.json"  # a plan edited to drop a submission is not trusted
    data = json.loads(plan.read_text())
    data["submissions"] = data["submissions"][:1]
    plan.write_text(json.dumps(data))
    run = course("gather", str(copy))
    assert run.returncode == 4 and "signature does not verify" in run.stderr and "shard 1/2" in run.stderr, run.stderr


@pytest.mark.slow
def test_running_the_command_again_submits_nothing_for_finished_shards(through_slurm, digits, batch, cold_cache, tmp_path):
    out, _, _ = through_slurm
    copy = tmp_path / "graded"
    shutil.copytree(out, copy, symlinks=True)
    before = rows(copy / "gradebook.csv")
    run = course("slurm", "grade", str(batch), "--out", str(copy), *flags(digits, cold_cache), "--shards", "2", "--poll-seconds", "1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Every shard is done" in run.stderr and "Submitted" not in run.stderr
    assert rows(copy / "gradebook.csv") == before
