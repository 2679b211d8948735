"""`course report`: the class view of a real graded batch (the `digits` lab), and its Canvas CSV."""

from __future__ import annotations

import csv
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.calibration.thresholds import Calibration, Threshold
from autograder.grading.batch import BatchOptions, run_batch
from autograder.reports.class_report import CANVAS_COLUMNS, pseudonym, write_report
from autograder.reports.gradebook import read_gradebook
from tests.conftest import TEST_PROFILE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(digits, tmp_path_factory) -> Path:
    """A graded class: two references (one under a numeric Canvas id), the stubs, a missing module."""
    root = tmp_path_factory.mktemp("class")
    modules = [spec.module for spec in digits.config.parts.values()]
    for name, source in (("ann", digits.solutions_dir), ("4242", digits.solutions_dir), ("bob", digits.release_dir),
                         ("cid", digits.solutions_dir)):
        (root / "batch" / name).mkdir(parents=True)
        for module in modules:
            shutil.copy(source / module, root / "batch" / name / module)
    (root / "batch" / "cid" / modules[0]).unlink()
    loc = digits.locations
    options = BatchOptions(profile=TEST_PROFILE, out=root / "graded", config=str(digits.config_path), lab=digits.lab,
                           data_dir=str(loc.data_dir), weights_dir=str(loc.weights_dir), cache_dir=str(loc.cache_dir))
    run_batch([root / "batch"], options)
    return root / "graded"


def calibration_at(tmp_path: Path, run: str, accuracy: float) -> Path:
    """A calibration whose threshold for `run` sits exactly at `accuracy` (so it is near)."""
    threshold = Threshold((accuracy,), accuracy, 0.02, accuracy, accuracy - 0.05, 100)
    calibration = Calibration(TEST_PROFILE, "x", [1], {run: threshold}, "test", "tensorflow", "2026-11-30")
    path = tmp_path / f"{TEST_PROFILE}.json"
    path.write_text(calibration.to_json())
    return path


def test_the_report_describes_the_class(graded, digits, tmp_path):
    rows = {row.submission: row for row in read_gradebook(graded / "gradebook.csv")}
    ann = json.loads((graded / ".staff" / "ann" / "grading.json").read_text())["result"]
    run, accuracy = ann["curves"][0]["name"], ann["curves"][0]["accuracy"]
    written = write_report(graded, "Digits", "Lab 2", {TEST_PROFILE: calibration_at(tmp_path, run, accuracy)}, tmp_path / "out")
    text = written.markdown.read_text()
    assert written.submissions == 4 and written.left_out == ()
    mean = statistics.fmean(row.score for row in rows.values())
    assert f"mean {mean:.1f}" in text and f"highest {max(r.score for r in rows.values()):.1f}" in text
    for figure in written.figures:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({figure.name})" in text
    # Each check's failure rate: the stubs fail every check; the missing module fails one part's.
    stub_check = next(c for c in json.loads((graded / ".staff" / "bob" / "grading.json").read_text())["result"]["parts"][1]["checks"])
    line = next(line for line in text.splitlines() if f"| {stub_check['name']} |" in line)
    assert "| 1/4 (25%) |" in line and "NotImplementedError" in line
    missing = next(c for c in json.loads((graded / ".staff" / "cid" / "grading.json").read_text())["result"]["parts"][0]["checks"])
    line = next(line for line in text.splitlines() if f"| {missing['name']} |" in line)
    assert "| 2/4 (50%) |" in line  # the stubs and the missing module (each message once: the first is shown)
    # Near a threshold: the references' accuracy equals it.
    near = text.split("## Near a threshold")[1].split("##")[0]
    assert "| ann |" in near and "| 4242 |" in near and "| bob |" not in near
    attention = text.split("## Needs attention")[1]
    assert "cid: parts not graded:" in attention and "is missing from the submission" in attention
    assert "## Slowest submissions" in text and "| ann |" in text.split("## Slowest submissions")[1]


def test_canvas_csv_is_the_gradebook_import_format(graded, tmp_path):
    written = write_report(graded, "Digits", "Lab 2 (12345)", {}, tmp_path / "out")
    with written.canvas.open(newline="") as stream:
        table = list(csv.reader(stream))
    assert table[0] == [*CANVAS_COLUMNS, "Lab 2 (12345)"]
    by_name = {row[0]: row for row in table[1:]}
    scores = {row.submission: row.score for row in read_gradebook(graded / "gradebook.csv")}
    assert by_name["4242"][1:3] == ["4242", ""]  # Canvas's own numeric user id
    assert by_name["ann"][1:3] == ["", "ann"]  # any other id: the SIS user id
    for name, row in by_name.items():
        assert float(row[-1]) == pytest.approx(scores[name], abs=0.005)


def test_moodle_csv_maps_users_by_id_number(graded, tmp_path):
    written = write_report(graded, "Digits", "Lab 2", {}, tmp_path / "out")
    (moodle,) = [p for p in written.others if p.name == "moodle.csv"]
    with moodle.open(newline="") as stream:
        table = list(csv.reader(stream))
    scores = {row.submission: row.score for row in read_gradebook(graded / "gradebook.csv")}
    assert table[0] == ["ID number", "Lab 2"]  # Moodle's import maps this column to the users' ID number
    assert {row[0] for row in table[1:]} == set(scores)
    for student, grade in table[1:]:
        assert float(grade) == pytest.approx(scores[student], abs=0.005)


def test_leaderboard_is_pseudonymous_stable_and_ranked(graded, tmp_path):
    written = write_report(graded, "Digits", "Lab 2", {}, tmp_path / "out", with_leaderboard=True)
    board = (tmp_path / "out" / "leaderboard.md").read_text()
    with (tmp_path / "out" / "leaderboard-key.csv").open(newline="") as stream:
        mapping = {row["student"]: row for row in csv.DictReader(stream)}
    key_file = graded / ".grader-key"  # the pseudonyms' key derives from it
    assert key_file.stat().st_mode & 0o777 == 0o600
    trained = {}
    for student in ("ann", "4242", "bob", "cid"):
        curves = json.loads((graded / ".staff" / student / "grading.json").read_text())["result"]["curves"]
        if curves:
            trained[student] = {c["name"]: c["accuracy"] for c in curves}
    assert set(mapping) == set(trained) and trained
    for student in trained:
        assert student not in board  # pseudonyms only
        assert f"| {mapping[student]['rank']} | {mapping[student]['pseudonym']} |" in board
    last = list(next(iter(trained.values())))[-1]
    order = sorted(trained, key=lambda s: int(mapping[s]["rank"]))
    assert [trained[s].get(last, -1) for s in order] == sorted((trained[s].get(last, -1) for s in order), reverse=True)
    # The same pseudonyms on the next report (the key is kept), none without the key.
    write_report(graded, "Digits", "Lab 2", {}, tmp_path / "again", with_leaderboard=True)
    assert (tmp_path / "again" / "leaderboard.md").read_text() == board
    assert all(mapping[s]["pseudonym"] != pseudonym(b"guessed key", s) for s in trained)
    assert written.others[-1].name == "leaderboard-key.csv"


def test_a_tampered_record_is_left_out_and_named(graded, digits, tmp_path):
    copy = tmp_path / "graded"
    shutil.copytree(graded, copy)
    record = copy / ".staff" / "bob" / "grading.json"
    data = json.loads(record.read_text())
    data["result"]["parts"][0]["checks"][0]["score"] = 50.0
    record.write_text(json.dumps(data))
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", str(copy), "--lab", digits.lab, "--config", str(digits.config_path)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "left out bob: its signature does not verify" in done.stderr
    text = (copy / "report" / "report.md").read_text()
    assert "3 submission(s)" in text and "bob: left out of this report (its signature does not verify)" in text
    empty = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", str(tmp_path / "nothing"), "--lab", digits.lab,
         "--config", str(digits.config_path)], capture_output=True, text=True, check=False,
    )
    assert empty.returncode == 2 and "error: Expected a folder written by `course grade`" in empty.stderr
    assert "Traceback" not in empty.stderr
