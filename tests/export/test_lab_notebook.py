"""The one-notebook lab is generated from the solutions and lab.py, and cannot drift from them."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import jupytext
import pytest

from autograder.config import load_config
from autograder.export.lab_notebook import ExportError, build_lab, python_only, without_module_prefixes
from autograder.release import strip_solutions

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "course.yaml")
PART_NAMES = CONFIG.part_names
SOLUTIONS = REPO / CONFIG.paths.solutions
MODULES = {Path(CONFIG.parts[p].module).stem for p in PART_NAMES}


def functions(source: str) -> dict[str, str]:
    return {n.name: ast.dump(n) for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


@pytest.fixture(scope="module")
def cells():
    return build_lab(SOLUTIONS, CONFIG)


def test_solved_cells_are_the_solution_modules_definitions(cells):
    for part in PART_NAMES:
        source = (SOLUTIONS / CONFIG.parts[part].module).read_text()
        notebook = "\n\n".join(c.solved() for c in cells if c.part == part and c.role in ("solution", "given"))
        want = functions(source.replace("# BEGIN SOLUTION", "# ").replace("# END SOLUTION", "# "))
        assert functions(notebook) == want, part
        assert set(CONFIG.parts[part].functions) <= set(want)


def test_stub_cells_are_the_release_stubs(cells):
    for part in PART_NAMES:
        module = CONFIG.parts[part].module
        stubbed = strip_solutions((SOLUTIONS / module).read_text(), module)
        notebook = "\n\n".join(c.stub() for c in cells if c.part == part and c.role in ("solution", "given"))
        assert functions(notebook) == functions(stubbed), part


def test_every_graded_function_has_a_solution_cell_and_every_part_a_check(cells):
    keys = [c.key for c in cells]
    assert len(keys) == len(set(keys))
    for part in PART_NAMES:
        for function in CONFIG.parts[part].functions:
            assert [c.role for c in cells if c.key == f"{part}-{function}"] == ["solution"]
        assert [c.part for c in cells if c.role == "check"].count(part) == 1


def test_parts_come_before_their_first_use_and_checks_after_their_part(cells):
    position = {c.key: i for i, c in enumerate(cells)}
    for part in PART_NAMES:
        first_code = min(position[f"{part}-{f}"] for f in CONFIG.parts[part].functions)
        used = [i for i, c in enumerate(cells) if c.role == "experiment" and any(
            f"{f}(" in c.source for f in CONFIG.parts[part].functions)]
        assert used and first_code < min(used), part
        assert position[f"check-{part}"] > max(position[f"{part}-{f}"] for f in CONFIG.parts[part].functions)


def test_experiment_cells_are_lab_py_without_module_prefixes(cells):
    driver = jupytext.reads((SOLUTIONS / "lab.py").read_text(), fmt="py:percent")
    expected = [without_module_prefixes(c.source, MODULES, "lab.py") for c in driver.cells if c.cell_type == "code"]
    assert [c.source for c in cells if c.role == "experiment"] == [e for e in expected if e.strip()]
    markdown = [c.source for c in driver.cells if c.cell_type == "markdown"]
    assert [c.source for c in cells if c.role == "markdown" and c.part is None and c.key != "lab-note"] == markdown
    for cell in cells:
        if cell.role == "experiment":
            tree = ast.parse(python_only(cell.source))  # magics (%autoreload) blanked
            assert not any(isinstance(n, ast.Name) and n.id in MODULES for n in ast.walk(tree)), cell.source


def test_without_module_prefixes():
    source = "import numpy as np\nimport augmentation\nx = augmentation.ten_crops(np.zeros(3), 2)\ny = p.augmentation.size"
    assert without_module_prefixes(source, {"augmentation"}, "lab.py") == (
        "import numpy as np\nx = ten_crops(np.zeros(3), 2)\ny = p.augmentation.size"
    )
    with pytest.raises(ExportError, match="lab.py:1"):
        without_module_prefixes("from augmentation import ten_crops", {"augmentation"}, "lab.py")
    with pytest.raises(ExportError, match="without `as`"):
        without_module_prefixes("import augmentation as aug", {"augmentation"}, "lab.py")


def test_a_driver_cell_shadowing_a_lab_function_is_refused(tmp_path):
    copy = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, copy)
    lab = copy / "lab.py"
    lab.write_text(lab.read_text() + "\n# %%\nten_crops = None\n")
    with pytest.raises(ExportError, match="'ten_crops'"):
        build_lab(copy, CONFIG)
