"""`course export nbgrader`: an nbgrader course directory generated from the single source.

Written to `out/`:
    nbgrader_config.py                  course id, the bundle's course.yaml, and `GradeWithCourse`
                                        in place of nbgrader's `Execute`
    source/<lab>/lab.ipynb              the assignment, with nbgrader cell metadata
    grader/                             the bundle: course.yaml, solutions, hidden checks,
                                        calibrated thresholds (never released to students)

In the notebook, each graded function is a solution cell (our `# BEGIN SOLUTION <hint>` markers
become nbgrader's `### BEGIN SOLUTION`, the hint a comment above it); markdown, imports and
experiment cells are read-only; each part ends with a read-only check cell students run
themselves and an autograder test cell worth the part's points.

No cell runs at `nbgrader autograde`: `GradeWithCourse` (see `nbgrader_execute.py`) grades the
sanitized notebook with the sandboxed `course grade` and writes each part's score as its test
cell's output, nbgrader's partial credit. Nothing a student cell does reaches the score. The test
cells' hidden part raises if run in a kernel, so a misconfigured autograde scores zero.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder.context import CourseContext
from autograder.export.bundle import write_bundle
from autograder.export.lab_notebook import LabCell, build_lab
from autograder.export.nbgrader_execute import NOT_GRADED_TAG, TEST_PREFIX
from autograder.export.notebooks import GENERATED, cell_id, new_notebook, write_notebook
from autograder.release.markers import BEGIN, END

BUNDLE = "grader"
OWNED = ("nbgrader_config.py", "source/{lab}", BUNDLE)
SCHEMA_VERSION = 3

CONFIG = '''\
"""nbgrader configuration for {title}.

{generated}
"""

import os
from pathlib import Path

from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

from autograder.export.nbgrader_execute import GradeWithCourse

c = get_config()  # noqa: F821 (nbgrader defines it)
HERE = Path(__file__).resolve().parent

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = {course_id!r}
# Autograde runs no cell in a kernel: `course grade` (sandboxed) grades the submitted notebook and
# its per-part scores become the test cells' outputs. Nothing a student cell does reaches them.
c.Autograde.autograde_preprocessors = [
    GradeWithCourse if p is Execute else p for p in Autograde.class_traits()["autograde_preprocessors"].default()
]
c.GradeWithCourse.profile = {profile!r}
# The grader's course (hidden checks, thresholds) is the bundle exported with this folder.
c.GradeWithCourse.config_file = str(HERE / {bundle!r} / "course.yaml")
os.environ["COURSE_CONFIG"] = str(HERE / {bundle!r} / "course.yaml")
'''

TEST_CELL = '''\
# Part {number}: {points:g} points. The grader trains and checks your functions itself, on images you never see.
### BEGIN HIDDEN TESTS
# `course grade` scores this part outside any kernel (GradeWithCourse in nbgrader_config.py).
raise RuntimeError("Graded by the course grader, never in a kernel: check nbgrader_config.py")
### END HIDDEN TESTS'''

CHECK_CELL = '''\
# Run this to see whether every graded function of part {number} is written (the grader checks much more).
from autograder.export.runtime import check_part
check_part({part!r}, {functions!r})'''


def nbgrader_solution(source: str) -> str:
    """Our solution markers as nbgrader's: `### BEGIN SOLUTION`, with the hint as a comment above."""
    lines = []
    for line in source.splitlines():
        begin = BEGIN.match(line)
        if begin:
            if begin["hint"]:
                lines.append(f"{begin['indent']}# Hint: {begin['hint']}")
            lines.append(f"{begin['indent']}### BEGIN SOLUTION")
        elif END.match(line):
            lines.append(line[: len(line) - len(line.lstrip())] + "### END SOLUTION")
        else:
            lines.append(line)
    return "\n".join(lines)


def _meta(key: str, *, solution: bool = False, grade: bool = False, locked: bool = False, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": key, "locked": locked, "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _code(source: str, key: str, tags: tuple[str, ...] = (), **meta) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, id=cell_id(key))
    cell.metadata = nbformat.from_dict({**_meta(key, **meta), **({"tags": list(tags)} if tags else {})})
    return cell


def notebook(cells: list[LabCell], ctx: CourseContext, profile: str) -> nbformat.NotebookNode:
    """The source notebook of the nbgrader assignment."""
    numbers = {part: number for number, part in enumerate(ctx.config.parts, start=1)}
    out = []
    for cell in cells:
        if cell.role == "markdown":
            md = nbformat.v4.new_markdown_cell(cell.source, id=cell_id(cell.key))
            md.metadata = nbformat.from_dict(_meta(cell.key, locked=True))
            out.append(md)
        elif cell.role == "solution":
            out.append(_code(nbgrader_solution(cell.source), cell.key, solution=True))
        elif cell.role == "given":
            out.append(_code(cell.source, cell.key, locked=True))
        elif cell.role == "experiment":
            out.append(_code(cell.source, cell.key, (NOT_GRADED_TAG,), locked=True))
        else:
            part, spec = cell.part, ctx.config.parts[cell.part]
            check = CHECK_CELL.format(number=numbers[part], part=part, functions=list(spec.functions))
            out.append(_code(check, f"check-{part}", (NOT_GRADED_TAG,), locked=True))
            test = TEST_CELL.format(number=numbers[part], points=spec.points)
            out.append(_code(test, f"{TEST_PREFIX}{part}", grade=True, locked=True, points=float(spec.points)))
    return new_notebook(out)


def export(ctx: CourseContext, out: Path, profile: str, with_data: bool = True) -> list[str]:
    """Write the nbgrader course directory into `out`; return what the instructor does next."""
    ctx.profile(profile)
    out = Path(out)
    lab = ctx.config.course.lab
    source = out / "source" / lab
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(out / BUNDLE, ignore_errors=True)
    write_notebook(notebook(build_lab(ctx.solutions_dir, ctx.config), ctx, profile), source / "lab.ipynb")
    course_id = "".join(ch if ch.isalnum() else "-" for ch in ctx.config.course.name.lower()).strip("-")
    title = ctx.config.course.title
    generated = GENERATED.format(platform="nbgrader", source="course.yaml and solutions/")
    (out / "nbgrader_config.py").write_text(
        CONFIG.format(title=title, generated=generated, course_id=course_id, bundle=BUNDLE, profile=profile)
    )
    write_bundle(ctx, out / BUNDLE, profile, with_data=with_data)
    return [
        f"cd {out} && nbgrader generate_assignment {lab}   (writes release/{lab}/ for students)",
        f"Collect submissions into {out}/submitted/<student>/{lab}/lab.ipynb, then: nbgrader autograde {lab}",
        "Scores are in gradebook.db (nbgrader export writes grades.csv); nbgrader generate_feedback for students.",
    ]
