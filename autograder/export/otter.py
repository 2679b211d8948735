"""`course export otter`: an otter-grader assignment generated from the single source.

Written to `out/`:
    student/lab.ipynb, student/tests/   what students get: the notebook (stubs) and public tests
    solution/lab.ipynb                  the same notebook, solved (for the instructor)
    autograder/                         what `otter generate` zips: otter_config.json,
                                        requirements.txt, tests/ (all cases), course/ (the bundle)
    autograder.zip                      built by otter's own `otter generate`; give it to `otter run`
                                        or upload it to Gradescope

The tests are otter exception-based test files (one per part). Each has a public case (every
graded function is written: `check_part`) worth nothing, and a hidden case worth the part's points
that fails when run: the score is not computed in otter's kernel, where student cells run. The
`OtterPartScores` plugin (see `otter_plugin.py`) grades the notebook with the sandboxed `course
grade` in otter's grading process before the kernel starts, hands the kernel a notebook without
any student cell, and sets each part to its exact `course grade` score (partial credit included).
The experiment cells are tagged `otter_ignore`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from pathlib import Path

import nbformat

from autograder.context import CourseContext
from autograder.export.bundle import write_bundle
from autograder.export.gradescope import pinned_requirements
from autograder.export.lab_notebook import LabCell, build_lab
from autograder.export.notebooks import GENERATED, CheckInfo, cell_id, new_notebook, part_checks, write_notebook

BUNDLE = "course"
OWNED = ("student", "solution", "autograder", "autograder.zip")
PLUGIN = "autograder.export.otter_plugin.OtterPartScores"
FAIL_IN_KERNEL = "Graded by the course autograder outside the notebook's kernel (the OtterPartScores plugin)"
IGNORE_TAG = "otter_ignore"
INIT_SOURCE = '# Initialize Otter\nimport otter\ngrader = otter.Notebook("lab.ipynb")'
EXPORT_SOURCE = "# Save your notebook first, then run this cell to make the zip you hand in.\ngrader.export(pdf=False, run_tests=False)"

TEST_FILE = '''\
"""Part {number}: {title} ({points:g} points).

{generated}
The hidden case grades the notebook with `course grade`, which runs these checks{among}:
{checks}
"""

from otter.test_files import test_case

OK_FORMAT = False

name = {part!r}
points = {points!r}


@test_case(name={public_name!r}, points=0, hidden=False)
def test_written():
    from autograder.export.runtime import check_part

    check_part({part!r}, {functions!r})
'''

HIDDEN_CASE = '''

@test_case(name={hidden_name!r}, points={points!r}, hidden=True)
def test_graded():
    # `course grade` scores this part in otter's grading process: {plugin}.
    raise AssertionError({message!r})
'''


def otter_test_file(
    part: str, number: int, title: str, points: float, functions: list[str], checks: list[CheckInfo], profile: str, public: bool
) -> str:
    """The otter test file of one part; `public` leaves the hidden case out (the students' copy)."""
    shown = [c for c in checks if c.visibility == "visible"] if public else checks
    listed = "\n".join(f"    {c.points:g} pts  {c.name}  [{c.visibility}]  ({c.source})" for c in shown)
    text = TEST_FILE.format(
        number=number, title=title, points=float(points), part=part, functions=list(functions), checks=listed,
        among=" (the public ones among them)" if public else "",
        generated=GENERATED.format(platform="otter", source="course.yaml and the checks in solutions/"),
        public_name=f"{part}: every graded function is written",
    )
    if not public:
        text += HIDDEN_CASE.format(hidden_name=f"{part}: graded by the course autograder", points=float(points),
                                   plugin=PLUGIN, message=FAIL_IN_KERNEL)
    return text


def notebook(cells: list[LabCell], solved: bool, assignment: str) -> nbformat.NotebookNode:
    """The otter notebook: Otter's init cell, the lab, `grader.check` cells and the export cell."""
    out = [nbformat.v4.new_code_cell(INIT_SOURCE, id="otter-init")]
    for cell in cells:
        if cell.role == "markdown":
            out.append(nbformat.v4.new_markdown_cell(cell.source, id=cell_id(cell.key)))
        elif cell.role == "check":
            out.append(nbformat.v4.new_code_cell(f'grader.check("{cell.part}")', id=cell_id(cell.key)))
        else:
            source = cell.solved() if solved or cell.role != "solution" else cell.stub()
            code = nbformat.v4.new_code_cell(source, id=cell_id(cell.key))
            if cell.role == "experiment":
                code.metadata["tags"] = [IGNORE_TAG]
            out.append(code)
    out.append(nbformat.v4.new_markdown_cell("## Submission", id="otter-submission"))
    export_cell = nbformat.v4.new_code_cell(EXPORT_SOURCE, id="otter-export")
    export_cell.metadata["tags"] = [IGNORE_TAG]
    out.append(export_cell)
    return new_notebook(out, otter={"assignment_name": assignment})


def otter_config(assignment: str, profile: str) -> dict:
    """What `otter_config.json` holds: the assignment name and the grading plugin with its profile."""
    return {"assignment_name": assignment, "lang": "python", "plugins": [{PLUGIN: {"profile": profile}}]}


def _write_tests(folder: Path, ctx: CourseContext, profile: str, public: bool) -> None:
    checks = part_checks(ctx.solutions_dir / "checks", ctx.config)
    folder.mkdir(parents=True, exist_ok=True)
    for number, (part, spec) in enumerate(ctx.config.parts.items(), start=1):
        text = otter_test_file(part, number, spec.title, spec.points, spec.functions, checks[part], profile, public)
        (folder / f"{part}.py").write_text(text, encoding="utf-8")


def build_zip(folder: Path, target: Path) -> Path:
    """Run otter's own `otter generate` on the autograder folder."""
    from otter.generate import main as otter_generate  # noqa: PLC0415

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    with contextlib.chdir(folder):
        otter_generate(
            tests_dir="tests", output_path=str(target.resolve()), config="otter_config.json",
            requirements="requirements.txt", no_environment=True, files=[BUNDLE], python_version=python,
        )
    return target


def export(ctx: CourseContext, out: Path, profile: str, with_data: bool = True) -> list[str]:
    """Write the otter assignment into `out`; return what the instructor does next."""
    ctx.profile(profile)
    out = Path(out)
    assignment = ctx.config.course.lab
    cells = build_lab(ctx.solutions_dir, ctx.config)
    for name in ("student", "solution", "autograder"):
        shutil.rmtree(out / name, ignore_errors=True)
    write_notebook(notebook(cells, solved=False, assignment=assignment), out / "student" / "lab.ipynb")
    write_notebook(notebook(cells, solved=True, assignment=assignment), out / "solution" / "lab.ipynb")
    _write_tests(out / "student" / "tests", ctx, profile, public=True)
    folder = out / "autograder"
    _write_tests(folder / "tests", ctx, profile, public=False)
    (folder / "otter_config.json").write_text(json.dumps(otter_config(assignment, profile), indent=2) + "\n")
    requirements = pinned_requirements(ctx.locations.root / "pyproject.toml")
    (folder / "requirements.txt").write_text(requirements + f"/autograder/source/files/{BUNDLE}\n")
    write_bundle(ctx, folder / BUNDLE, profile, with_data=with_data)
    archive = build_zip(folder, out / "autograder.zip")
    return [
        f"Give students {out / 'student'} (lab.ipynb and its public tests).",
        f"Grade a notebook here: otter run -a {archive} -o results/ lab.ipynb",
        f"Or upload {archive} to a Gradescope programming assignment (otter's image installs the course from it).",
    ]
