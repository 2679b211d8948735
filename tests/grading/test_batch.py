"""Batches: folders and zips of submissions, one gradebook row each, resumable after a kill.

What grades here is the engine's, not a lab's: the tests that grade run on the `digits` lab,
which grades in seconds (the transfer-learning lab's batches are graded by the export and
security tests)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.grading.batch import BatchOptions, run_batch
from autograder.grading.submissions import SubmissionError, discover, safe_extract
from autograder.reports.gradebook import GradebookRow, read_gradebook
from autograder.reports.gradescope import validate_results_json
from tests.conftest import TEST_PROFILE

MODULES = ("augmentation.py", "scratch.py", "feature_extraction.py", "fine_tuning.py")


def modules(lab) -> tuple[str, ...]:
    return tuple(part.module for part in lab.config.parts.values())


def copy_stubs(lab, folder: Path, source: Path | None = None) -> Path:
    """The lab's graded modules in `folder`: the release's stubs, or those of `source`."""
    folder.mkdir(parents=True)
    for module in modules(lab):
        shutil.copy((source or lab.release_dir) / module, folder / module)
    return folder


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{prefix}{path.name}")
    return target


def options(ctx, out: Path, **kw) -> BatchOptions:
    loc = ctx.locations
    return BatchOptions(profile=TEST_PROFILE, out=out, config=str(ctx.config_path), lab=ctx.lab, data_dir=str(loc.data_dir),
                        weights_dir=str(loc.weights_dir), cache_dir=str(loc.cache_dir), **kw)


def test_discover_folders_zips_and_batches(ctx, tmp_path):
    batch = tmp_path / "batch"
    alice = copy_stubs(ctx, batch / "alice")
    zip_folder(alice, batch / "bob.zip", prefix="bob/")
    (batch / "notes").mkdir()
    found = discover([batch], MODULES, tmp_path / "scratch")
    assert [s.name for s in found] == ["alice", "bob"]
    assert (found[1].folder / "scratch.py").is_file()
    with pytest.raises(SubmissionError, match="holds no submission"):
        discover([batch / "notes"], MODULES, tmp_path / "scratch2")
    with pytest.raises(SubmissionError, match="no such file"):
        discover([tmp_path / "missing"], MODULES, tmp_path / "scratch3")


def test_unsafe_zip_entries_are_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.py", "x = 1")
    with pytest.raises(SubmissionError, match="unsafe entry"):
        safe_extract(evil, tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()
    (tmp_path / "junk.zip").write_text("not a zip")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        safe_extract(tmp_path / "junk.zip", tmp_path / "out2")


@pytest.mark.slow
def test_batch_writes_results_gradebook_and_skips_graded_work(digits, tmp_path):
    batch = tmp_path / "batch"
    copy_stubs(digits, batch / "alice")
    zip_folder(copy_stubs(digits, tmp_path / "b"), batch / "bob.zip")
    out = tmp_path / "out"
    results = run_batch([batch], options(digits, out))
    assert [r.submission for r in results] == ["alice", "bob"]
    for name in ("alice", "bob"):
        data = json.loads((out / name / "results.json").read_text())
        assert validate_results_json(data) == []
        assert data["score"] == 0
        assert (out / name / "feedback.md").is_file()
    assert [row.submission for row in read_gradebook(out / "gradebook.csv")] == ["alice", "bob"]
    stamp = (out / "alice" / "results.json").stat().st_mtime_ns
    again = run_batch([batch], options(digits, out))
    assert (out / "alice" / "results.json").stat().st_mtime_ns == stamp  # skipped: same content, same settings
    assert [r.score for r in again] == [0, 0]
    edited = batch / "alice" / modules(digits)[0]
    edited.write_text(edited.read_text() + "\n# edited\n")
    run_batch([batch], options(digits, out))
    assert (out / "alice" / "results.json").stat().st_mtime_ns != stamp  # changed content: graded again


@pytest.mark.slow
def test_killed_batch_resumes_to_the_same_gradebook(digits, tmp_path, digits_stubs):
    batch = tmp_path / "batch"
    for name in ("s1", "s2"):
        copy_stubs(digits, batch / name)
    loc = digits.locations
    command = [sys.executable, "-m", "autograder.cli", "grade", str(batch), "--lab", digits.lab, "--profile", TEST_PROFILE,
               "--out", str(tmp_path / "killed"), "--config", str(digits.config_path), "--data-dir", str(loc.data_dir), "--weights-dir", str(loc.weights_dir),
               "--cache-dir", str(loc.cache_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not (tmp_path / "killed" / ".staff" / "s1" / "grading.json").exists():
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # s1 is graded, s2 is not (a stub takes seconds to grade)
    process.wait()
    assert (tmp_path / "killed" / ".staff" / "s1" / "grading.json").exists()
    assert not (tmp_path / "killed" / ".staff" / "s2" / "grading.json").exists()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Skipping 1 submission" in resumed.stderr
    # The same gradebook as an uninterrupted grading: each row is the row of the stubs graded in one go.
    straight = GradebookRow.from_result(digits_stubs)
    rows = read_gradebook(tmp_path / "killed" / "gradebook.csv")
    assert [row.submission for row in rows] == ["s1", "s2"]
    for row in rows:
        assert row.content_hash == straight.content_hash and row.profile == straight.profile
        assert row.score == pytest.approx(straight.score, abs=1e-4)
        assert dict(row.parts) == pytest.approx(dict(straight.parts), abs=1e-4)


@pytest.mark.slow
def test_parallel_jobs_on_a_cold_cache_grade_like_one_job(digits, tmp_path, digits_reference):
    """`--jobs 2` on a fresh cache: the inputs are built once, before the jobs, and every copy
    of the reference gets the same scores as a one-job grading."""
    batch = tmp_path / "batch"
    for name in ("r1", "r2"):
        copy_stubs(digits, batch / name, source=digits.solutions_dir)
    loc = digits.locations
    cold = BatchOptions(profile=TEST_PROFILE, out=tmp_path / "out", jobs=2, config=str(digits.config_path), lab=digits.lab,
                        data_dir=str(loc.data_dir), weights_dir=str(loc.weights_dir), cache_dir=str(tmp_path / "cold-cache"))
    results = run_batch([batch], cold)
    expected = {c.name: round(c.score, 6) for c in digits_reference.checks()}
    for result in results:
        assert {c.name: round(c.score, 6) for c in result.checks()} == expected, result.submission
    grading = [p.name for p in (tmp_path / "cold-cache" / "grading").iterdir() if not p.name.endswith(".lock")]
    assert len(grading) == 1 and ".tmp" not in grading[0]


@pytest.mark.slow
def test_the_student_folder_holds_only_what_may_be_handed_back(digits, tmp_path):
    """graded/<name>/ is what a TA may hand back: feedback with plots and a results.json whose hidden
    checks keep their name and score but not their message. The grader's record (hidden messages,
    thresholds, the hidden split's labels and per-image probabilities) lives apart, in .staff/."""
    bob = copy_stubs(digits, tmp_path / "batch" / "bob", source=digits.solutions_dir)
    dense = bob / "dense.py"  # a mistake only hidden checks see: no rescaling layer
    dense.write_text(dense.read_text().replace("    x = layers.Rescaling(1.0 / 16)(inputs)\n    x = layers.Flatten()(x)",
                                               "    x = layers.Flatten()(inputs)"))
    out = tmp_path / "out"
    (result,) = run_batch([tmp_path / "batch"], options(digits, out))
    shown_messages = {c.message for c in result.checks() if c.visibility != "hidden"}
    hidden = [c for c in result.checks() if c.visibility == "hidden" and not c.ok and c.message not in shown_messages]
    assert hidden, "the mutant fails hidden checks with messages of their own"
    handed_back = sorted(p for p in (out / "bob").rglob("*") if p.is_file())
    assert {p.name for p in handed_back} >= {"results.json", "feedback.md"}
    for path in handed_back:
        if path.suffix in (".json", ".md"):
            text = path.read_text()
            for check in hidden:
                assert check.message.splitlines()[0][:60] not in text, (path.name, check.name)
            assert "probabilities" not in text and "threshold" not in text.lower(), path.name
    results = json.loads((out / "bob" / "results.json").read_text())
    assert validate_results_json(results) == []
    shown = {t["name"]: t for t in results["tests"]}
    for check in hidden:
        assert shown[check.name]["score"] == pytest.approx(check.score) and "withheld" in shown[check.name]["output"]
    record = out / ".staff" / "bob" / "grading.json"
    assert record.is_file() and not (out / "bob" / "grading.json").exists()
    assert (os.stat(out / ".staff").st_mode & 0o077) == 0  # staff only
    assert json.loads(record.read_text())["result"]["curves"] == [] or "probabilities" in record.read_text()
