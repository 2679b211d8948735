"""`course export otter`: otter's own test files from our checks, and the real `otter run` grading like `course grade`."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from otter.test_files import GradingResults
from otter.test_files.exception_test import ExceptionTestFile

from autograder import export
from autograder.export.notebooks import part_checks
from autograder.export.otter import IGNORE_TAG, PLUGIN
from autograder.export.otter_plugin import OtterPartScores
from autograder.checks.result import CheckResult
from autograder.grading.result import PartResult, SubmissionResult
from autograder.notebook_submission import extract_modules, graded_functions
from tests.export.conftest import part_scores, same_scores
from tests.conftest import TEST_PROFILE

pytestmark = pytest.mark.heavy(seconds=90)


@pytest.fixture(scope="module")
def exported(ctx, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("otter")
    export.main(ctx, "otter", out, TEST_PROFILE, with_data=False)
    return out


def otter_run(exported: Path, notebook: Path, folder: Path, env: dict) -> dict:
    """The real `otter run` (no containers) on one notebook; returns its results.json."""
    folder.mkdir(parents=True)
    shutil.copy(notebook, folder / "lab.ipynb")
    command = [str(Path(sys.executable).parent / "otter"), "run", "-a", str(exported / "autograder.zip"), "-o", str(folder),
               "--no-logo", str(folder / "lab.ipynb")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    return json.loads((folder / "results.json").read_text())


def otter_part_scores(results: dict, ctx) -> dict[str, float]:
    return {t["name"]: round(t["score"], 3) for t in results["tests"] if t["name"] in ctx.config.parts}


def test_test_files_are_otters_format_with_the_parts_points(exported, ctx):
    checks = part_checks(ctx.solutions_dir / "checks", ctx.config)
    for part, spec in ctx.config.parts.items():
        full = ExceptionTestFile.from_file(str(exported / "autograder" / "tests" / f"{part}.py"))
        public = ExceptionTestFile.from_file(str(exported / "student" / "tests" / f"{part}.py"))
        assert full.name == public.name == part
        assert full.possible == pytest.approx(spec.points)
        assert [tc.hidden for tc in full.test_cases] == [False, True]
        assert [tc.hidden for tc in public.test_cases] == [False] and public.possible == 0
        source = (exported / "autograder" / "tests" / f"{part}.py").read_text()
        student = (exported / "student" / "tests" / f"{part}.py").read_text()
        for check in checks[part]:
            assert check.source in source
            assert (check.source in student) == (check.visibility == "visible"), check
        assert str(list(spec.functions)) in source.replace('"', "'")


def test_zip_is_otters_with_our_config_tests_and_bundle(exported):
    with zipfile.ZipFile(exported / "autograder.zip") as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("otter_config.json"))
        for name in names:
            if name.startswith("tests/"):
                assert zf.read(name) == (exported / "autograder" / name).read_bytes(), name
    assert {"run_autograder", "setup.sh", "environment.yml", "files/course/course.yaml"} <= names
    assert config["plugins"] == [{PLUGIN: {"profile": TEST_PROFILE}}]


def test_notebooks_tag_experiments_ignored_and_check_every_part(exported, ctx):
    for variant in ("student", "solution"):
        notebook = nbformat.read(exported / variant / "lab.ipynb", as_version=4)
        nbformat.validate(notebook)
        checks = [c.source for c in notebook.cells if c.source.startswith("grader.check(")]
        assert checks == [f'grader.check("{part}")' for part in ctx.config.parts]
        experiments = [c for c in notebook.cells if IGNORE_TAG in c.metadata.get("tags", [])]
        assert any("load_training_data(" in c.source for c in experiments)
        assert not any("def " in c.source and "NotImplementedError" in c.source for c in experiments)


def test_solved_notebook_holds_the_solution_and_student_notebook_the_stubs(exported, ctx):
    graded = graded_functions(ctx.config)
    solved = extract_modules(exported / "solution" / "lab.ipynb", graded)
    stubs = extract_modules(exported / "student" / "lab.ipynb", graded)
    for module, functions in graded.items():
        solution = {n.name: ast.dump(n) for n in ast.parse((ctx.solutions_dir / module).read_text()).body
                    if isinstance(n, ast.FunctionDef)}
        release = {n.name: ast.dump(n) for n in ast.parse((ctx.release_dir / module).read_text()).body
                   if isinstance(n, ast.FunctionDef)}
        got_solved = {n.name: ast.dump(n) for n in ast.parse(solved[module]).body if isinstance(n, ast.FunctionDef)}
        got_stubs = {n.name: ast.dump(n) for n in ast.parse(stubs[module]).body if isinstance(n, ast.FunctionDef)}
        for function in functions:
            assert got_solved[function] == solution[function]
            assert got_stubs[function] == release[function]
    assert "BEGIN SOLUTION" not in (exported / "student" / "lab.ipynb").read_text()


def scratch_results(tmp_path: Path) -> GradingResults:
    """Otter's results for a `scratch` test file whose hidden case failed (0 of 20 points)."""
    path = tmp_path / "scratch.py"
    path.write_text(
        "from otter.test_files import test_case\nOK_FORMAT = False\nname = 'scratch'\n"
        "@test_case(points=0)\ndef a():\n    pass\n@test_case(points=20, hidden=True)\ndef b():\n    assert False\n"
    )
    test = ExceptionTestFile.from_file(str(path))
    test.run({})
    return GradingResults([test])


def test_plugin_gives_the_part_its_exact_score(tmp_path):
    results = scratch_results(tmp_path)
    assert results.get_score("scratch") == 0
    plugin = OtterPartScores(str(tmp_path / "lab.ipynb"), {}, {"profile": TEST_PROFILE})
    checks = [CheckResult("a check", 20.0, 12.5, 20.0, "hidden", "", "scratch")]
    plugin.result = SubmissionResult("lab", "h", TEST_PROFILE, "d", [PartResult("scratch", "Scratch", 20.0, checks)])
    plugin.after_grading(results)
    assert results.get_score("scratch") == 12.5


def test_plugin_scores_zero_without_a_grading(tmp_path):
    results = scratch_results(tmp_path)
    results.update_score("scratch", 20)  # what a forged kernel result would say
    OtterPartScores(str(tmp_path / "lab.ipynb"), {}, {"profile": TEST_PROFILE}).after_grading(results)
    assert results.get_score("scratch") == 0


def test_plugin_removes_what_the_submission_brought_and_runs_no_cell(tmp_path, monkeypatch):
    import autograder.export.runtime as runtime

    folder = tmp_path / "submission"
    (folder / "course").mkdir(parents=True)
    (folder / "tests").mkdir()
    (folder / "autograder").mkdir()
    for name in ("lab.ipynb", ".otter_log", "otter.py", "__init__.py", "course/course.yaml", "autograder/__init__.py"):
        (folder / name).write_text("{}")
    (tmp_path / "source" / "files" / "course").mkdir(parents=True)
    (tmp_path / "source" / "files" / "course" / "course.yaml").write_text("")
    graded = []
    monkeypatch.setattr(runtime, "grade_notebook", lambda profile, notebook, bundle: graded.append((profile, notebook, bundle)))
    plugin = OtterPartScores(str(folder / "lab.ipynb"), {}, {"profile": TEST_PROFILE})
    plugin.before_grading(None)
    assert sorted(p.name for p in folder.iterdir()) == ["__init__.py", "lab.ipynb", "tests"]
    assert graded == [(TEST_PROFILE, folder / "lab.ipynb", str(tmp_path / "source" / "files" / "course"))]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os")])
    assert plugin.before_execution(notebook).cells == []


def test_plugin_refuses_a_submission_that_is_not_a_notebook(tmp_path):
    (tmp_path / "otter.py").write_text("print('hi')")
    with pytest.raises(ValueError, match="Expected a Jupyter notebook"):
        OtterPartScores(str(tmp_path / "otter.py"), {}, {"profile": TEST_PROFILE}).before_grading(None)


@pytest.mark.slow
def test_unsolved_notebook_scores_zero_like_course_grade(exported, stub_result, tmp_path, grading_env, ctx):
    results = otter_run(exported, exported / "student" / "lab.ipynb", tmp_path / "run", grading_env)
    assert otter_part_scores(results, ctx) == part_scores(stub_result) == {p: 0.0 for p in ctx.config.parts}


@pytest.fixture(scope="module")
def otter_reference(exported, tmp_path_factory, grading_env) -> dict:
    return otter_run(exported, exported / "solution" / "lab.ipynb", tmp_path_factory.mktemp("otter-run") / "run", grading_env)


@pytest.mark.slow
def test_solved_notebook_scores_like_course_grade(otter_reference, reference_result, ctx):
    assert same_scores(otter_part_scores(otter_reference, ctx), reference_result)


@pytest.mark.slow
def test_solved_notebook_gets_full_marks(otter_reference, ctx):
    full = {p: float(s.points) for p, s in ctx.config.parts.items()}
    assert otter_part_scores(otter_reference, ctx) == pytest.approx(full, abs=0.01)


def test_a_fresh_export_shows_no_drift(exported, ctx):
    assert export.main(ctx, "otter", exported, TEST_PROFILE, with_data=False, check=True) == []
