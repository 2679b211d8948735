"""Hand-ins as TAs collect them: zips named per student, per-student folders, LMS downloads,
manifests verified, and the usual broken hand-ins each a row of their own.

Graded on the `digits` lab (seconds per submission); what is tested is the engine's.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import submit
from autograder.grading.submissions import discover
from autograder.reports.gradebook import read_gradebook
from autograder.submit import SubmitError
from autograder.submit.manifest import MANIFEST
from tests.conftest import TEST_PROFILE
from tests.grading.test_batch import copy_stubs, modules


def working_copy(lab, target: Path, source: Path | None = None) -> Path:
    """The lab's graded modules in `target`, from `source` (default: the solutions)."""
    return copy_stubs(lab, target, source or lab.solutions_dir)


def handed_in(lab, folder: Path, student: str | None, source: Path | None = None) -> Path:
    """What `course submit [--student ID]` writes, into `folder` (made by the test)."""
    work = working_copy(lab, folder.parent / f".work-{folder.name}", source)
    folder.mkdir(parents=True, exist_ok=True)
    report = submit.main(lab, work, None, checks=False, student=student, out_dir=folder)
    assert report.errors == [] and report.archive is not None
    shutil.rmtree(work)
    return report.archive


def test_submit_names_the_zip_after_the_lab_and_the_student(digits, tmp_path):
    archive = handed_in(digits, tmp_path / "out", "s-1234")
    assert archive.name == "digits-s-1234.zip"
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read(MANIFEST))
    assert manifest["student"] == "s-1234" and manifest["lab"] == "digits"
    # Without an id the zip keeps the lab's name and the manifest records none.
    plain = handed_in(digits, tmp_path / "plain", None)
    assert plain.name == "digits-submission.zip"
    with zipfile.ZipFile(plain) as zf:
        assert json.loads(zf.read(MANIFEST))["student"] is None
    for bad in ("../evil", "a b", "", "x" * 200):
        with pytest.raises(SubmitError, match=r"Expected a student id of letters, digits"):
            submit.main(digits, working_copy(digits, tmp_path / f"w{len(bad)}"), None, checks=False, student=bad)


def test_submit_of_a_notebook_that_is_not_json_is_one_line(digits, tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "lab.ipynb").write_text("{not json")
    report = submit.main(digits, tmp_path / "work", None, checks=False, out_dir=tmp_path)
    assert report.archive is None and len(report.errors) == 1
    assert "lab.ipynb: expected a Jupyter notebook" in report.errors[0] and "\n" not in report.errors[0]


def tampered(archive: Path, module: str) -> None:
    """Change `module` inside the zip after `course submit` wrote it, keeping the manifest."""
    with zipfile.ZipFile(archive) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    entries[module] += b"\n# changed after submitting\n"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def test_per_student_folders_of_submit_zips(digits, tmp_path):
    """Every `course submit` zip has the same name; the TA's folder per student tells them apart."""
    batch = tmp_path / "collected"
    handed_in(digits, batch / "alice", None)
    handed_in(digits, batch / "bob-77", "bob-77")  # the id the folder has too
    carol = handed_in(digits, batch / "carol", None)
    tampered(carol, modules(digits)[0])
    handed_in(digits, batch / "dave", "erin-5")  # claims another id than the folder the TA made
    (batch / "frank").mkdir()
    (batch / "frank" / "digits-submission.zip").write_bytes(b"PK\x03\x04 not a zip")
    handed_in(digits, batch / "gina", None)
    shutil.copy(batch / "gina" / "digits-submission.zip", batch / "gina" / "digits-submission-2.zip")
    found = {s.name: s for s in discover([batch], modules(digits), tmp_path / "scratch")}
    assert sorted(found) == ["alice", "bob-77", "carol", "dave", "frank", "gina"]
    assert found["alice"].student == "alice" and found["alice"].manifest == "verified"
    assert found["bob-77"].student == "bob-77" and found["bob-77"].manifest == "verified"
    assert found["carol"].manifest.startswith("mismatch") and modules(digits)[0] in found["carol"].manifest
    assert not found["carol"].problem  # flagged, still graded
    # The folder the TA made names the student; an id the student wrote differing from it is flagged.
    assert found["dave"].student == "dave"
    assert "differs from the folder" in found["dave"].manifest and "erin-5" in found["dave"].manifest
    assert "readable zip" in found["frank"].problem and str(batch / "frank") in found["frank"].problem
    assert "expected one zip" in found["gina"].problem and "digits-submission-2.zip" in found["gina"].problem
    for name in ("alice", "bob-77", "carol", "dave"):
        assert (found[name].folder / modules(digits)[0]).is_file()


def test_a_flat_folder_of_submit_zips_takes_the_id_from_the_manifest(digits, tmp_path):
    batch = tmp_path / "inbox"
    handed_in(digits, batch, "s1")
    handed_in(digits, batch, "s2")
    handed_in(digits, tmp_path / "third", None).rename(batch / "late-one.zip")
    found = {s.name: s for s in discover([batch], modules(digits), tmp_path / "scratch")}
    assert sorted(found) == ["digits-s1", "digits-s2", "late-one"]
    assert [found[n].student for n in sorted(found)] == ["s1", "s2", ""]
    assert all(s.manifest == "verified" for s in found.values())


def test_canvas_download_names_give_the_student(digits, tmp_path):
    """Canvas's "Download Submissions": `<name>[_LATE]_<user id>_<attachment id>_<file name>`."""
    batch = tmp_path / "canvas"
    made = handed_in(digits, tmp_path / "a", None)
    batch.mkdir()
    shutil.copy(made, batch / "doejane_4242_991_digits-submission.zip")
    shutil.copy(made, batch / "roejohn_LATE_4343_992_digits-submission-1.zip")
    found = {s.name: s for s in discover([batch], modules(digits), tmp_path / "scratch")}
    assert sorted(found) == ["doejane_4242", "roejohn_4343"]
    assert found["doejane_4242"].student == "4242" and found["roejohn_4343"].student == "4343"


def test_gradescope_export_layout_gives_the_student(digits, tmp_path):
    """Gradescope's "Export Submissions": `submission_<id>/` folders and `submission_metadata.yml`."""
    batch = tmp_path / "gradescope"
    for number, sid in ((101, "stu-a"), (102, "stu-b")):
        folder = batch / f"submission_{number}"
        working_copy(digits, folder)
    (batch / "submission_metadata.yml").write_text(
        "submission_101:\n  :submitters:\n  - :name: Ann A\n    :sid: stu-a\n    :email: ann@example.edu\n"
        "  :created_at: 2026-11-30 10:00:00.000000000 +00:00\n  :score: 0.0\n"
        "submission_102:\n  :submitters:\n  - :name: Ben B\n    :sid: ''\n    :email: ben@example.edu\n"
        "  :created_at: 2026-11-30 11:00:00.000000000 +00:00\n  :score: 0.0\n"
    )
    found = {s.name: s for s in discover([batch], modules(digits), tmp_path / "scratch")}
    assert sorted(found) == ["submission_101", "submission_102"]
    assert found["submission_101"].student == "stu-a"
    assert found["submission_102"].student == "ben@example.edu"  # no sid: the email


def test_gradebook_has_student_and_manifest_columns_and_reads_old_files(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("submission,score,max_score,dense,profile,content_hash,execution_time\nalice,50.0,100.0,50.0,ci,abc,1.0\n")
    (row,) = read_gradebook(old)
    assert row.student == "" and row.manifest == "" and row.score == 50.0


@pytest.mark.slow
def test_a_class_folder_with_broken_hand_ins(digits, tmp_path, digits_reference):
    """Per-student folders of submit zips, plus a corrupt zip, a missing module, a syntax error and
    an invalid notebook: every good one is graded, each bad one is a row that says what is wrong
    in one line, and the exit code says that some could not be graded."""
    first, second = modules(digits)
    batch = tmp_path / "class"
    handed_in(digits, batch / "ann", "ann-1")
    handed_in(digits, batch / "ben", None)
    (batch / "cid").mkdir(parents=True)
    (batch / "cid" / "digits-submission.zip").write_bytes(b"garbage")
    missing = working_copy(digits, tmp_path / "missing")
    (missing / first).unlink()
    with zipfile.ZipFile(batch / "dan.zip", "w") as zf:
        zf.write(missing / second, second)
    syntax = working_copy(digits, batch / "eve")
    (syntax / second).write_text("def build_convnet(:\n    pass\n")
    (batch / "fay").mkdir()
    (batch / "fay" / "lab.ipynb").write_text("{this is not json")
    loc = digits.locations
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", str(batch), "--lab", digits.lab, "--profile", TEST_PROFILE,
         "--out", str(tmp_path / "out"), "--config", str(digits.config_path), "--data-dir", str(loc.data_dir),
         "--weights-dir", str(loc.weights_dir), "--cache-dir", str(loc.cache_dir)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    rows = {row.submission: row for row in read_gradebook(tmp_path / "out" / "gradebook.csv")}
    assert sorted(rows) == ["ann", "ben", "cid", "dan", "eve", "fay"]
    assert rows["ann"].score == rows["ben"].score == pytest.approx(digits_reference.score)
    assert rows["ann"].student == "ann" and rows["ann"].manifest.startswith("verified")
    assert rows["cid"].score == rows["fay"].score == 0
    part_of = {spec.module: part for part, spec in digits.config.parts.items()}
    # The missing module and the syntax error cost their part only, with one clear message each.
    assert rows["dan"].parts[part_of[first]] == 0 and rows["dan"].parts[part_of[second]] == pytest.approx(50)
    assert rows["eve"].parts[part_of[second]] == 0 and rows["eve"].parts[part_of[first]] == pytest.approx(50)
    summary = done.stderr
    assert f"dan: {first} is missing from the submission" in summary
    assert f"eve: {second} does not parse (line 1" in summary
    assert "cid: " in summary and "readable zip" in summary and "fay: " in summary
    for name, module in (("dan", first), ("eve", second)):
        results = json.loads((tmp_path / "out" / name / "results.json").read_text())
        lost = [t for t in results["tests"] if t["score"] < t["max_score"]]
        shown = [t for t in lost if t.get("visibility") != "hidden"]  # hidden ones are withheld when handed back
        assert shown and all(t["output"].count("\n") == 0 and module in t["output"] for t in shown), shown[:2]
        assert f"not graded: {module} " in results["output"]
        text = json.dumps(results)
        assert "Traceback" not in text and "/tmp/" not in text and "autograder/" not in text
    with (tmp_path / "out" / "gradebook.csv").open() as stream:
        header = next(csv.reader(stream))
    assert header[:2] == ["submission", "student"] and "manifest" in header


def test_the_static_module_check_refuses_only_what_import_refuses(tmp_path):
    """A part is skipped only for a module Python could not import as source: a declared encoding,
    a BOM or CRLF line ends are fine; a missing file, a syntax error or a null byte are not."""
    from autograder.grading.static import module_problem

    fine = {
        "cookie.py": "# -*- coding: latin-1 -*-\n# caf\xe9\nX = 1\n".encode("latin-1"),
        "bom.py": b"\xef\xbb\xbfX = 1\n",
        "crlf.py": b"def f():\r\n    return 1\r\n",
    }
    broken = {"syntax.py": b"def f(:\n", "null.py": b"X = 1\x00\n", "indent.py": b"def f():\nreturn 1\n"}
    for name, data in {**fine, **broken}.items():
        (tmp_path / name).write_bytes(data)
        assert compile_ok(tmp_path / name) == (name in fine), name
    for name in fine:
        assert module_problem(tmp_path, name) is None, name
    assert module_problem(tmp_path, "syntax.py") == "syntax.py does not parse (line 1: invalid syntax)"
    assert module_problem(tmp_path, "indent.py").startswith("indent.py does not parse (line 2: expected an indented block")
    assert module_problem(tmp_path, "null.py").startswith("null.py does not parse")
    assert module_problem(tmp_path, "gone.py") == "gone.py is missing from the submission"
    (tmp_path / "link.py").symlink_to(tmp_path / "bom.py")
    assert module_problem(tmp_path, "link.py") == "link.py is not a plain file"


def compile_ok(path: Path) -> bool:
    """Whether Python's own import machinery loads `path` as a module."""
    done = subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(path)!r})"], capture_output=True, check=False)
    return done.returncode == 0
