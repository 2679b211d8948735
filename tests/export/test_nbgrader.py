"""`course export nbgrader`: a course directory the real `nbgrader generate_assignment` and `autograde` accept.

One `nbgrader autograde` run (`gradebook_scores`, in `tests/platforms.py`, shared with
`tests/security/test_exports.py`) grades three students: `solved` (the release notebook with the
source's solutions put back), `stub` (the release notebook untouched) and `attacker` (the stubs
with cells that patch the grading in the kernel, see `tests/security/test_exports.py`). Their
per-part scores in nbgrader's gradebook must equal `course grade`'s.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import export
from autograder.export.nbgrader_execute import NOT_GRADED_TAG
from tests.export.conftest import part_scores, same_scores
from tests.conftest import TEST_PROFILE

pytestmark = pytest.mark.heavy(seconds=130)  # one worker with SAME_WORKER's (tests/conftest.py)

NBGRADER_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION")


def nbgrader(course: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "nbgrader"), *args]
    done = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:  # the first traceback (a `course grade` failure names its exit status), not TF's noise
        lines = [line for line in done.stderr.splitlines() if not line.startswith(("E0000", "I0000", "W0000", "WARNING"))]
        text = "\n".join(lines)
        start = text.find("Traceback")
        pytest.fail(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n" + text[max(0, start) : max(0, start) + 6000])
    assert "Exception while loading config file" not in done.stderr, done.stderr[-3000:]
    return done


def exported_course(ctx, out: Path, env: dict) -> Path:
    """The exported course directory in `out`, after the real `nbgrader generate_assignment`."""
    export.main(ctx, "nbgrader", out, TEST_PROFILE, with_data=False)
    nbgrader(out, env, "generate_assignment", ctx.config.course.lab)
    share_with_grading_user(out)
    return out


@pytest.fixture
def course(nbgrader_course) -> Path:
    """The suite's one nbgrader course (`tests/platforms.py`), shared with the security tests."""
    return nbgrader_course


def share_with_grading_user(folder: Path) -> None:
    """Make a course folder under pytest's private tmp readable to every user, as a course
    directory in an instructor's shared folder is: run as root, `course grade` loads and trains
    student models as the unprivileged grading user, which must read the bundle."""
    for parent in [folder, *folder.parents]:
        parent.chmod(parent.stat().st_mode | 0o005)
    for path in folder.rglob("*"):
        path.chmod(path.stat().st_mode | (0o005 if path.is_dir() else 0o004))


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_source_notebook_has_nbgrader_cells_for_every_part(course, ctx):
    notebook = nbformat.read(course / "source" / ctx.config.course.lab / "lab.ipynb", as_version=4)
    nbformat.validate(notebook)
    solutions = {nbgrader_meta(c)["grade_id"] for c in notebook.cells if nbgrader_meta(c).get("solution")}
    tests = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in notebook.cells if nbgrader_meta(c).get("grade")}
    for part, spec in ctx.config.parts.items():
        assert {f"{part}-{f}" for f in spec.functions} <= solutions
        assert tests[f"test_{part}"] == pytest.approx(spec.points)
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" or NOT_GRADED_TAG in cell.metadata.get("tags", []):
            assert meta["locked"] and not meta["solution"], cell.source[:80]
        if meta.get("grade"):
            assert "### BEGIN HIDDEN TESTS" in cell.source and "raise RuntimeError(" in cell.source
            assert "grade_part" not in cell.source  # nothing in a kernel computes a score


def test_solution_cells_are_the_solutions_with_nbgraders_markers(course, ctx):
    notebook = nbformat.read(course / "source" / ctx.config.course.lab / "lab.ipynb", as_version=4)
    cells = {nbgrader_meta(c)["grade_id"]: c.source for c in notebook.cells if nbgrader_meta(c).get("solution")}
    for part, spec in ctx.config.parts.items():
        tree = ast.parse((ctx.solutions_dir / spec.module).read_text())
        solution = {n.name: ast.dump(n) for n in tree.body if isinstance(n, ast.FunctionDef)}
        for function in spec.functions:
            source = cells[f"{part}-{function}"]
            assert source.count("### BEGIN SOLUTION") == source.count("### END SOLUTION") >= 1
            assert "# BEGIN SOLUTION" not in source.replace("### BEGIN SOLUTION", "")
            (node,) = ast.parse(source).body
            assert ast.dump(node) == solution[function], function


def test_release_has_stubs_and_no_solution_or_hidden_test(course, ctx):
    released = (course / "release" / ctx.config.course.lab / "lab.ipynb").read_text()
    assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released and "grade_part(\\\"" not in released
    assert released.count("raise NotImplementedError()") == sum(len(p.functions) for p in ctx.config.parts.values())
    assert not (course / "release" / ctx.config.course.lab / "grader").exists()


def test_what_nbgrader_adds_is_not_drift_but_an_edit_is(course, ctx):
    assert export.main(ctx, "nbgrader", course, TEST_PROFILE, with_data=False, check=True) == []
    source = course / "source" / ctx.config.course.lab / "lab.ipynb"
    edited = course.parent / "edited"
    shutil.copytree(course, edited)
    notebook = edited / "source" / ctx.config.course.lab / "lab.ipynb"
    notebook.write_text(source.read_text().replace("YOUR CODE", "OUR CODE", 1).replace("Hint:", "Tip:", 1))
    drift = export.main(ctx, "nbgrader", edited, TEST_PROFILE, with_data=False, check=True)
    assert drift == [f"source/{ctx.config.course.lab}/lab.ipynb: differs from what the source generates now"]


def solved_submission(course: Path, lab: str) -> nbformat.NotebookNode:
    """The release notebook with each solution cell's source put back from the source notebook."""
    source = nbformat.read(course / "source" / lab / "lab.ipynb", as_version=4)
    release = nbformat.read(course / "release" / lab / "lab.ipynb", as_version=4)
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if nbgrader_meta(c).get("solution")}
    for cell in release.cells:
        if nbgrader_meta(cell).get("solution"):
            lines = answers[nbgrader_meta(cell)["grade_id"]].splitlines()
            cell.source = "\n".join(line for line in lines if not NBGRADER_MARKER.match(line))
    return release


# Run in the student's kernel, each would forge full marks if a test cell computed the score there;
# the last one leaves a file behind, which shows whether any student cell ran at all.
KERNEL_ATTACKS = (
    "import autograder.export.runtime as runtime\n"
    "runtime.grade_part = lambda *args, **kwargs: 1000.0\n"
    "runtime.grade_notebook = None",
    "import builtins, sys, types\n"
    "fake = types.ModuleType('autograder.export.runtime')\n"
    "fake.grade_part = lambda *args, **kwargs: 1000.0\n"
    "sys.modules['autograder.export.runtime'] = fake\n"
    "builtins.RuntimeError = type('RuntimeError', (), {})\n"
    "builtins.round = lambda *args, **kwargs: 1000.0",
    "import pathlib\npathlib.Path({marker!r}).write_text('a student cell ran at autograde')\nprint(1000.0)",
)


def attacked_submission(course: Path, lab: str, marker: Path) -> nbformat.NotebookNode:
    """The release notebook (stubs) with `KERNEL_ATTACKS` as new cells after the first one."""
    release = nbformat.read(course / "release" / lab / "lab.ipynb", as_version=4)
    cells = [nbformat.v4.new_code_cell(attack.replace("{marker!r}", repr(str(marker)))) for attack in KERNEL_ATTACKS]
    release.cells[1:1] = cells
    return release


def autograde(course: Path, ctx, env: dict, marker: Path) -> dict[str, dict[str, float]]:
    """Student -> part -> score, from nbgrader's gradebook after one real `nbgrader autograde`
    of three students: `solved`, `stub` and `attacker` (whose cells would leave `marker`)."""
    from nbgrader.api import Gradebook

    lab = ctx.config.course.lab
    students = ("solved", "stub", "attacker")
    for student in students:
        (course / "submitted" / student / lab).mkdir(parents=True)
    shutil.copy(course / "release" / lab / "lab.ipynb", course / "submitted" / "stub" / lab / "lab.ipynb")
    nbformat.write(solved_submission(course, lab), course / "submitted" / "solved" / lab / "lab.ipynb")
    nbformat.write(attacked_submission(course, lab, marker), course / "submitted" / "attacker" / lab / "lab.ipynb")
    nbgrader(course, env, "autograde", lab)
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            scores[student] = {
                part: round(gb.find_grade(f"test_{part}", "lab", lab, student).score, 3) for part in ctx.config.parts
            }
    return scores


@pytest.mark.slow
def test_stub_scores_zero_like_course_grade(gradebook_scores, stub_result):
    assert gradebook_scores["stub"] == part_scores(stub_result) == {p: 0.0 for p in gradebook_scores["stub"]}


@pytest.mark.slow
def test_solved_scores_like_course_grade(gradebook_scores, reference_result):
    assert same_scores(gradebook_scores["solved"], reference_result)


@pytest.mark.slow
def test_solved_gets_full_marks(gradebook_scores, ctx):
    full = {p: float(s.points) for p, s in ctx.config.parts.items()}
    assert gradebook_scores["solved"] == pytest.approx(full, abs=0.01)
