"""`course submit`: a student's working copy is checked, then packed in a zip `course grade` accepts."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autograder import submit
from autograder.cli import app
from autograder.submit.manifest import MANIFEST, verify_zip
from autograder.submit.structure import MISSING, OK, STUB, SYNTAX, function_statuses


def working_copy(ctx, source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for part in ctx.config.part_names:
        shutil.copy(source / ctx.config.parts[part].module, target)
    return target


def test_function_statuses():
    source = (
        "def a():\n    '''Doc.'''\n    raise NotImplementedError('a: hint')\n"
        "def b():\n    raise NotImplementedError()\n"
        "def c():\n    return 1\n"
    )
    found = {s.name: s.status for s in function_statuses(source, ["a", "b", "c", "d"])}
    assert found == {"a": STUB, "b": STUB, "c": OK, "d": MISSING}
    (broken,) = function_statuses("def a(:\n", ["a"], "scratch.py")
    assert broken.status == SYNTAX and "scratch.py:1" in broken.detail


def test_solution_modules_pass_and_zip_with_a_manifest(ctx, tmp_path):
    folder = working_copy(ctx, ctx.solutions_dir, tmp_path / "work")
    (folder / "helpers.py").write_text("X = 1\n")
    report = submit.main(ctx, folder, tmp_path / "alice.zip", checks=False)
    assert report.errors == [] and report.warnings == []
    with zipfile.ZipFile(report.archive) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read(MANIFEST))
    modules = {ctx.config.parts[p].module for p in ctx.config.part_names}
    assert names == modules | {"helpers.py", MANIFEST}
    assert manifest["kind"] == "modules" and manifest["lab"] == ctx.config.course.lab
    assert set(manifest["files"]) == modules | {"helpers.py"}
    assert {"python", "keras", "numpy"} <= set(manifest["versions"])
    assert all(status == OK for module in manifest["functions"].values() for status in module.values())
    assert verify_zip(report.archive) == []


def test_stubs_are_warnings_and_still_packed(ctx, tmp_path):
    report = submit.main(ctx, working_copy(ctx, ctx.release_dir, tmp_path / "work"), tmp_path / "s.zip", checks=False)
    assert report.errors == []
    assert len(report.warnings) == sum(len(p.functions) for p in ctx.config.parts.values())
    assert all("not written yet" in w for w in report.warnings)
    assert report.archive.is_file()


def test_a_missing_module_or_a_syntax_error_stops_it(ctx, tmp_path):
    folder = working_copy(ctx, ctx.solutions_dir, tmp_path / "work")
    (folder / "scratch.py").unlink()
    (folder / "fine_tuning.py").write_text("def unfreeze_top(base, at):\n    return base.(\n")
    report = submit.main(ctx, folder, tmp_path / "x.zip", checks=False)
    assert report.archive is None and not (tmp_path / "x.zip").exists()
    assert any("Missing: scratch.py" in e for e in report.errors)
    assert any(e.startswith("fine_tuning.py: unfreeze_top: syntax error (fine_tuning.py:2") for e in report.errors)
    forced = submit.main(ctx, folder, tmp_path / "x.zip", checks=False, force=True)
    assert forced.archive.is_file()


def test_a_module_that_does_not_import_stops_it(ctx, tmp_path):
    folder = working_copy(ctx, ctx.solutions_dir, tmp_path / "work")
    text = (folder / "scratch.py").read_text()
    (folder / "scratch.py").write_text("import no_such_module_anywhere\n" + text)
    report = submit.main(ctx, folder, tmp_path / "x.zip", checks=False)
    assert report.archive is None
    assert report.errors == ["scratch.py does not import: ModuleNotFoundError: No module named 'no_such_module_anywhere'"]


def test_a_notebook_alone_is_packed_as_a_notebook_submission(ctx, tmp_path):
    from tests.submit.test_notebook_submission import lab_notebook

    folder = tmp_path / "work"
    lab_notebook(folder / "lab.ipynb", solved=True)
    report = submit.main(ctx, folder, tmp_path / "nb.zip", checks=False)
    assert report.kind == "notebook" and report.errors == [] and report.warnings == []
    with zipfile.ZipFile(report.archive) as zf:
        assert set(zf.namelist()) == {"lab.ipynb", MANIFEST}


def test_public_checks_run_through_course_check_when_it_exists(ctx, tmp_path, monkeypatch):
    from types import SimpleNamespace

    import autograder.grading as grading

    calls = []
    fake = SimpleNamespace(main=lambda c, folder, profile, console=None: calls.append(profile) or SimpleNamespace(score=3, max_score=4))
    monkeypatch.setattr(grading, "check", fake, raising=False)
    monkeypatch.setitem(__import__("sys").modules, "autograder.grading.check", fake)
    folder = working_copy(ctx, ctx.solutions_dir, tmp_path / "work")
    report = submit.main(ctx, folder, tmp_path / "c.zip", checks=True)
    assert calls == ["smoke"]
    with zipfile.ZipFile(report.archive) as zf:
        assert json.loads(zf.read(MANIFEST))["public_checks"] == {"profile": "smoke", "score": 3, "max_score": 4}


def test_cli_reports_and_exits_one_on_errors(ctx, tmp_path, monkeypatch):
    folder = working_copy(ctx, ctx.release_dir, tmp_path / "work")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["submit", str(folder), "--no-checks", "--config", str(ctx.config_path)])
    assert result.exit_code == 0, result.output
    assert "not written yet" in result.output and (tmp_path / f"{ctx.config.course.lab}-submission.zip").is_file()
    (folder / "augmentation.py").unlink()
    failed = CliRunner().invoke(app, ["submit", str(folder), "--no-checks", "--config", str(ctx.config_path)])
    assert failed.exit_code == 1


@pytest.mark.slow
def test_course_grade_accepts_the_zip(ctx, tmp_path):
    from tests.export.conftest import course_grade

    folder = working_copy(ctx, ctx.release_dir, tmp_path / "work")
    report = submit.main(ctx, folder, tmp_path / "bob.zip", checks=False)
    result = course_grade(ctx, report.archive, tmp_path / "graded")
    assert result.submission == "bob"
    assert [p.part for p in result.parts] == list(ctx.config.part_names)
    assert result.score == 0 and {p.sandbox.outcome for p in result.parts} == {"ok"}
