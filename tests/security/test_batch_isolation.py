"""Attacks on the batch layer: one submission must never stop, forge or touch another's grading.

Each bad entry (unreadable or hostile notebook, unsafe zip, link, unsafe name) becomes that
submission's own zero row; grading runs in children that are not root (seen from /proc) and
that a crash or a limit costs one submission only; stored results are verified before resume;
and nothing outside the output folder changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from autograder.grading.batch import BatchOptions, _stored, batch_key, run_batch
from autograder.grading.submissions import SubmissionError, discover
from autograder.reports.gradebook import read_gradebook
from tests.conftest import TEST_PROFILE

pytestmark = pytest.mark.heavy(seconds=65)

MODULES = ("augmentation.py", "scratch.py", "feature_extraction.py", "fine_tuning.py")
IS_ROOT = os.geteuid() == 0


def stubs(ctx, folder: Path, reference: tuple[str, ...] = ()) -> Path:
    """The lab's stubs in `folder`, with the modules in `reference` taken from the solutions."""
    folder.mkdir(parents=True)
    for module in (part.module for part in ctx.config.parts.values()):
        source = ctx.solutions_dir if module in reference else ctx.release_dir
        shutil.copy(source / module, folder / module)
    return folder


def notebook(cells) -> str:
    return json.dumps({
        "cells": [{"cell_type": "code", "id": f"c{i}", "source": s, "metadata": {}, "outputs": [], "execution_count": None}
                  for i, s in enumerate(cells)],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    })


def hostile_entries(ctx, batch: Path, outside: Path) -> dict[str, str]:
    """Every bad entry of the issue, in `batch`; name -> a word its message must contain."""
    expected = {}
    (batch / "badjson").mkdir()
    (batch / "badjson" / "lab.ipynb").write_text("{not json")
    expected["badjson"] = "expected a Jupyter notebook"
    (batch / "numbercell").mkdir()
    (batch / "numbercell" / "lab.ipynb").write_text(notebook([42]))
    expected["numbercell"] = "to be text"
    (batch / "deep").mkdir()
    (batch / "deep" / "lab.ipynb").write_text(notebook(["x = " + "1+" * 200_000 + "1", "y = " + "-" * 200_000 + "1"]))
    expected["deep"] = "nested too deeply"
    with zipfile.ZipFile(batch / "clash.zip", "w") as zf:
        zf.writestr("scratch.py", "x = 1")
        zf.writestr("scratch.py/evil.py", "x = 2")
    expected["clash"] = "both a file and a folder"
    with zipfile.ZipFile(batch / "linkzip.zip", "w") as zf:
        link = zipfile.ZipInfo("scratch.py")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    expected["linkzip"] = "a link"
    with zipfile.ZipFile(batch / "...zip", "w") as zf:
        zf.writestr("scratch.py", "x = 1")
        zf.writestr("escaped.py", "x = 1")
    expected["submission-"] = "expected a name"
    (batch / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    expected["corrupt"] = "readable zip"
    (batch / "linknb").mkdir()
    (batch / "linknb" / "lab.ipynb").symlink_to(outside / "secret.ipynb")
    expected["linknb"] = "a link"
    stubs(ctx, batch / "linkmod")
    (batch / "linkmod" / "scratch.py").unlink()
    (batch / "linkmod" / "scratch.py").symlink_to(ctx.solutions_dir / "scratch.py")
    expected["linkmod"] = "a link"
    stubs(ctx, batch / "bad name;rm -rf")
    expected["bad_name_rm_-rf-"] = "expected a name"
    (batch / "linkdir").symlink_to(batch / "linkmod", target_is_directory=True)
    expected["linkdir"] = "a link"
    return expected


def test_each_bad_entry_is_its_own_row_in_discovery(ctx, tmp_path):
    batch, outside, scratch = tmp_path / "batch", tmp_path / "outside", tmp_path / "work" / "scratch"
    batch.mkdir()
    outside.mkdir()
    (outside / "secret.ipynb").write_text(notebook(["def build_scratch_cnn():\n    return 'secret'"]))
    stubs(ctx, batch / "alice")
    expected = hostile_entries(ctx, batch, outside)
    (tmp_path / "work").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    found = discover([batch], MODULES, scratch)
    by_name = {s.name: s for s in found}
    assert not by_name.pop("alice").problem
    for prefix, word in expected.items():
        (name,) = [n for n in by_name if n == prefix or (prefix.endswith("-") and n.startswith(prefix))]
        problem = by_name[name].problem
        assert problem and word in problem, (name, problem)
        assert str(batch) in problem, problem  # names the TA's file
    assert len(found) == len(expected) + 1
    for submission in found:  # every name is a safe slug, used only inside the scratch folder
        assert "/" not in submission.name and not submission.name.startswith(".")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing extracted next to the scratch
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["scratch"]
    assert not list(scratch.parent.parent.glob("**/escaped.py"))
    extracted = [p for p in scratch.rglob("*") if p.is_symlink()]
    assert extracted == []
    # A path the TA gave that does not exist is still an error for the whole batch.
    with pytest.raises(SubmissionError, match="no such file"):
        discover([tmp_path / "missing"], MODULES, tmp_path / "scratch2")


def test_only_bad_entries_exit_3_with_a_summary(ctx, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "corrupt.zip").write_bytes(b"not a zip")
    (batch / "broken").mkdir()
    (batch / "broken" / "lab.ipynb").write_text("{not json")
    loc = ctx.locations
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", str(batch), "--profile", TEST_PROFILE, "--out", str(tmp_path / "out"),
         "--config", str(ctx.config_path), "--data-dir", str(loc.data_dir), "--weights-dir", str(loc.weights_dir),
         "--cache-dir", str(loc.cache_dir)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert "2 of 2 submission(s) could not be graded" in done.stderr
    assert "corrupt: " in done.stderr and "broken: " in done.stderr
    rows = {row.submission: row for row in read_gradebook(tmp_path / "out" / "gradebook.csv")}
    assert set(rows) == {"broken", "corrupt"} and all(row.score == 0 and row.max_score > 0 for row in rows.values())
    data = json.loads((tmp_path / "out" / "corrupt" / "results.json").read_text())
    assert data["score"] == 0 and "readable zip" in data["output"]


def test_tampered_records_are_not_trusted(ctx, tmp_path):
    from autograder.grading.batch import failed_result, write_outputs
    from autograder.grading.submissions import Submission

    out = tmp_path / "out"
    secret = batch_key(out)
    assert (os.stat(out / ".grader-key").st_mode & 0o777) == 0o600
    submission = Submission("alice", tmp_path, tmp_path)
    result = failed_result(ctx, TEST_PROFILE, "alice", "a reason")
    write_outputs(out, submission, result, "k1", secret)
    assert _stored(out, submission, "k1", secret) is not None
    assert _stored(out, submission, "k2", secret) is None  # other settings or content
    record = out / ".staff" / "alice" / "grading.json"
    original = record.read_bytes()
    data = json.loads(original)
    data["result"]["parts"][0]["checks"][0]["score"] = data["result"]["parts"][0]["checks"][0]["max_score"]
    record.write_text(json.dumps(data))
    assert _stored(out, submission, "k1", secret) is None  # edited record
    record.write_bytes(original[: len(original) // 2])
    assert _stored(out, submission, "k1", secret) is None  # truncated record
    record.write_bytes(original)
    results = out / "alice" / "results.json"
    results.write_text(results.read_text().replace('"score": 0', '"score": 100', 1))
    assert _stored(out, submission, "k1", secret) is None  # edited results.json
    write_outputs(out, submission, result, "k1", secret)
    assert _stored(out, submission, "k1", os.urandom(32).hex().encode()) is None  # another key


# -- grading children ------------------------------------------------------------------------------


def options(ctx, out: Path, **kw) -> BatchOptions:
    loc = ctx.locations
    return BatchOptions(profile=TEST_PROFILE, out=out, config=str(ctx.config_path), lab=ctx.lab, data_dir=str(loc.data_dir),
                        weights_dir=str(loc.weights_dir), cache_dir=str(loc.cache_dir), **kw)


def _argv(pid: str) -> list[str]:
    """The process's argv from /proc (empty once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode("utf-8", "replace").split("\0")[:-1]  # each argument ends with a NUL


def _module(pid: str) -> str:
    """The module a Python process runs with `-m` (its real argv, not a substring of it: the root
    trampoline that starts a grading child carries the child's argv inside its own JSON argument)."""
    argv = _argv(pid)
    if not argv or not Path(argv[0]).name.startswith("python"):
        return ""
    for i, arg in enumerate(argv[1:-1], start=1):
        if arg == "-m":
            return argv[i + 1]
        if not arg.startswith("-") or arg == "-c":
            return ""
    return ""


def _uids(pid: str) -> tuple[int, ...]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return tuple(int(v) for v in line.split()[1:])
    return ()


class Watcher(threading.Thread):
    """Records the uids of grading children and sandbox workers; kills the child grading `victim`."""

    def __init__(self, out: Path, before_victim: str | None) -> None:
        super().__init__(daemon=True)
        self.out, self.before_victim = out, before_victim
        self.seen: dict[str, set[tuple[int, ...]]] = {"child": set(), "worker": set()}
        self.killed: int | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        me = str(os.getpid())
        while not self.stop.is_set():
            parents = {}
            for pid in (p for p in os.listdir("/proc") if p.isdigit()):
                try:
                    parents[pid] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
                except (OSError, IndexError):
                    continue

            def ours(pid: str) -> bool:  # this test's batch, not another process on the machine
                for _ in range(64):
                    pid = parents.get(pid, "0")
                    if pid == me:
                        return True
                    if pid in ("0", "1"):
                        return False
                return False

            modules = {pid: _module(pid) for pid in parents if ours(pid)}
            workers = [pid for pid, module in modules.items() if module == "autograder.probes.worker"]
            for pid, module in modules.items():
                try:
                    if module == "autograder.grading.jobs":
                        self.seen["child"].add(_uids(pid))
                        if (self.killed is None and self.before_victim and workers
                                and (self.out / ".staff" / self.before_victim / "grading.json").exists()):
                            os.kill(int(pid), signal.SIGKILL)  # a crash while it grades the victim
                            self.killed = int(pid)
                    elif module == "autograder.probes.worker":
                        self.seen["worker"].add(_uids(pid))
                except (OSError, ValueError):
                    continue
            time.sleep(0.2)


def tree_digest(*folders: Path) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.name.endswith(".lock"):
                continue
            info = path.lstat()
            digest.update(f"{path}:{info.st_mode:o}:{info.st_uid}".encode())
            if path.is_file() and not path.is_symlink():
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def kernel_limits_available() -> bool:
    """True where this machine has cgroups with memory, pids and cpu (v1 or v2) that root can use."""
    from autograder.sandbox.cgroups import CONTROLLERS, v1_roots, v2_root

    root = v2_root()
    if root is not None and (root / "cgroup.controllers").is_file():
        if set(CONTROLLERS) <= set((root / "cgroup.controllers").read_text().split()):
            return True
    return set(CONTROLLERS) <= set(v1_roots())


@pytest.mark.slow
def test_hostile_submissions_cost_only_their_own_rows(digits, tmp_path, digits_stubs, digits_reference, digits_grader):
    """10 submissions, 3 hostile (a bad notebook, a zip with a link, a child that dies while it
    grades one): the 7 honest ones score exactly as when graded alone, children are not root,
    and nothing outside the output folder changes. On the `digits` lab: what is tested is the
    batch's, and a digits submission grades in seconds."""
    ctx, grader, stub_result, reference_result = digits, digits_grader, digits_stubs, digits_reference
    module_part = {spec.module: part for part, spec in ctx.config.parts.items()}
    first, second = list(module_part)[:2]
    batch, out = tmp_path / "batch", tmp_path / "out"
    honest = {f"s{i}": () for i in range(1, 6)}
    honest |= {"s6": (first,), "s7": (second,)}
    for name, reference in honest.items():
        stubs(ctx, batch / name, reference)
    (batch / "h1").mkdir()
    (batch / "h1" / "lab.ipynb").write_text(notebook([3.5]))
    with zipfile.ZipFile(batch / "h2.zip", "w") as zf:
        link = zipfile.ZipInfo(first)
        link.external_attr = 0o120777 << 16
        zf.writestr(link, str(ctx.solutions_dir / first))
    stubs(ctx, batch / "s4x")  # graded after s4: its child is killed while it grades it
    guarded = [ctx.solutions_dir, grader.inputs.root, ctx.locations.data_dir]
    before = tree_digest(*guarded)
    watcher = Watcher(out, "s4")
    watcher.start()
    try:
        results = run_batch([batch], options(ctx, out))
    finally:
        watcher.stop.set()
        watcher.join()
    by_name = {r.submission: r for r in results}
    assert sorted(by_name) == sorted([*honest, "h1", "h2", "s4x"])
    assert set(results.failures) == {"h1", "h2", "s4x"}, results.failures
    assert "to be text" in results.failures["h1"] and "a link" in results.failures["h2"]
    assert watcher.killed is not None and "SIGKILL" in results.failures["s4x"], results.failures["s4x"]
    for name in ("h1", "h2", "s4x"):
        assert by_name[name].score == 0 and by_name[name].max_score == stub_result.max_score
    # The honest ones: exactly the scores they get graded alone (a fresh child graded those after s4x).
    alone_stub = {c.name: round(c.score, 6) for c in stub_result.checks()}
    for name, reference in honest.items():
        parts = {module_part[m] for m in reference}
        for check in by_name[name].checks():
            expected_from = reference_result if check.part in parts else stub_result
            expected = {c.name: round(c.score, 6) for c in expected_from.checks() if c.part == check.part}
            assert round(check.score, 6) == expected[check.name], (name, check.name)
        if not reference:
            assert {c.name: round(c.score, 6) for c in by_name[name].checks()} == alone_stub
    # The children are not root, yet their sandbox runs' limits bind through a delegated cgroup.
    if IS_ROOT and kernel_limits_available():
        for name in honest:
            assert {p.sandbox.limits for p in by_name[name].parts} <= {"cgroup v1", "cgroup v2"}, name
    # Not root: every grading child and sandbox worker seen in /proc ran under another user.
    if IS_ROOT:
        assert watcher.seen["child"] and watcher.seen["worker"], watcher.seen
        for uids in watcher.seen["child"] | watcher.seen["worker"]:
            assert uids and 0 not in uids, watcher.seen
    # Nothing outside the output folder changed; each submission's outputs are as the grader wrote them.
    assert tree_digest(*guarded) == before
    for name in by_name:
        record = json.loads((out / ".staff" / name / "grading.json").read_text())
        assert record["result"]["submission"] == name
        for file, digest in record["files"].items():
            assert hashlib.sha256((out / name / file).read_bytes()).hexdigest() == digest, (name, file)
    assert {row.submission for row in read_gradebook(out / "gradebook.csv")} == set(by_name)
    # Resume verifies what it skips: an edited score is graded again, the others are skipped.
    stored = out / "s1" / "results.json"
    stored.write_text(stored.read_text().replace('"score": 0', '"score": 100', 1))
    again = run_batch([batch / "s1", batch / "s2"], options(ctx, out))
    assert json.loads(stored.read_text())["score"] == 0
    assert [r.score for r in again] == [stub_result.score, stub_result.score]
    assert not again.failures


@pytest.mark.slow
@pytest.mark.skipif(not IS_ROOT, reason="the drop to an unprivileged user happens only as root")
def test_child_limits_and_failures_cost_one_submission(ctx, tmp_path, grader):
    """A child past its time limit is killed with all its processes; an exception while grading
    (here: a module the grading user cannot read) is that submission's error; both as a fresh child."""
    import grp

    from autograder.grading.batch import _child_spec, _warm_image_cache
    from autograder.grading.jobs import ChildFailure, ChildPool

    from autograder.grading.jobs import DEFAULT_USER

    import autograder

    # The grading user can write none of what grades rest on.
    for path in (ctx.solutions_dir, ctx.solutions_dir / "calibration", ctx.solutions_dir / "checks", grader.inputs.root,
                 grader.inputs.hidden, Path(autograder.__file__).parent, Path(sys.prefix), Path(sys.base_prefix)):
        probe = subprocess.run(["runuser", "-u", DEFAULT_USER, "--", "test", "-w", str(path)], check=False)
        assert probe.returncode != 0, f"{DEFAULT_USER} can write {path}"
    scratch = tmp_path / "scratch"
    unreadable = stubs(ctx, scratch / "unreadable")
    (unreadable / "scratch.py").chmod(0o000)
    slow = stubs(ctx, scratch / "slow")
    for folder in (scratch, unreadable, slow):
        folder.chmod(0o755)
    os.chmod(tmp_path, 0o755)
    chosen = options(ctx, tmp_path / "out", grading_seconds=3)
    _warm_image_cache(ctx, chosen.profile, grp.getgrnam(DEFAULT_USER).gr_gid)  # as run_batch does: the children read the splits
    spec = _child_spec(chosen, ctx, scratch, grader.inputs.root)
    pool = ChildPool(spec, 1)
    (child,) = pool.free
    try:
        with pytest.raises(ChildFailure, match="PermissionError"):
            child.grade(unreadable, "unreadable")
        pid = child.process.pid
        assert 0 not in _uids(str(pid))
        family: set[int] = set()
        stop = threading.Event()

        def watch() -> None:  # the child's processes while it grades (its sandboxes included)
            from autograder.sandbox import procs

            while not stop.is_set():
                if child.process is not None:
                    family.update(procs.family(child.process.pid))
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            with pytest.raises(ChildFailure, match="longer than 3 s"):
                child.grade(slow, "slow")
        finally:
            stop.set()
            watcher.join()
        assert child.process is None and len(family) > 1  # the child and the sandboxes it had started
        time.sleep(0.5)
        left = [pid for pid in family if Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
        assert not left, [" ".join(_argv(str(pid))) for pid in left]
    finally:
        pool.close()
    # A memory cap below what a grader needs: the child is stopped, and the batch says why.
    from autograder.grading.jobs import GradingSetupError

    small = _child_spec(options(ctx, tmp_path / "out", grading_memory_gb=0.2), ctx, scratch, grader.inputs.root)
    pool = ChildPool(small, 1)
    try:
        with pytest.raises(GradingSetupError, match="more than 0.2 GiB of memory"):
            pool.free[0].grade(slow, "slow")
    finally:
        pool.close()
