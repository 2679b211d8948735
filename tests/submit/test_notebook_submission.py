"""A submission that is only `lab.ipynb`: its graded functions become the four modules, nothing else runs."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.export.lab_notebook import build_lab
from autograder.notebook_submission import (
    NotebookSubmissionError,
    extract_modules,
    find_notebook,
    graded_functions,
    module_folder,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "course.yaml")
PART_NAMES = CONFIG.part_names
SOLUTIONS = REPO / CONFIG.paths.solutions
GRADED = graded_functions(CONFIG)


def write_notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab")])
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def lab_notebook(path: Path, solved: bool | set[str]) -> Path:
    """The lab as one notebook: solved (True), stubbed (False), or with only the given parts solved."""
    cells = build_lab(SOLUTIONS, CONFIG)
    solved_parts = set(PART_NAMES) if solved is True else set(solved or ())
    code = [c.solved() if c.part in solved_parts else c.stub() for c in cells if c.role in ("given", "solution")]
    code += [c.source for c in cells if c.role == "experiment"]
    return write_notebook(path, *code)


def definitions(source: str) -> dict[str, str]:
    return {n.name: ast.dump(n) for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def test_the_solved_notebook_gives_the_solution_modules_functions(tmp_path):
    modules = extract_modules(lab_notebook(tmp_path / "lab.ipynb", solved=True), GRADED)
    assert set(modules) == set(GRADED)
    for part in PART_NAMES:
        module = CONFIG.parts[part].module
        solution = definitions((SOLUTIONS / module).read_text())
        extracted = definitions(modules[module])
        for function in CONFIG.parts[part].functions:
            assert extracted[function] == solution[function], (module, function)
        compile(modules[module], module, "exec")


def test_experiments_are_left_out_and_only_needed_imports_kept(tmp_path):
    modules = extract_modules(lab_notebook(tmp_path / "lab.ipynb", solved=True), GRADED)
    for text in modules.values():
        assert "load_training_data" not in text and "plot_curves" not in text and "histories" not in text
    assert "from sklearn.linear_model import LogisticRegression" in modules["feature_extraction.py"]
    assert "sklearn" not in modules["scratch.py"]


def test_helpers_and_constants_follow_the_functions_that_use_them(tmp_path):
    notebook = write_notebook(
        tmp_path / "lab.ipynb",
        "%matplotlib inline\nimport numpy as np\nimport os\nSIZE = 2 * 3\ndata = np.load('x.npz')",
        "def _corners(images, c):\n    return images[:, :c, :c] * SIZE\n",
        "def ten_crops(images, crop_size):\n    return np.stack([_corners(images, crop_size)] * 10)\n",
        "print(ten_crops(data, 2))",
        "def ten_crops(images, crop_size):  # the later definition wins\n    return np.asarray(_corners(images, crop_size))\n",
    )
    text = extract_modules(notebook, {"augmentation.py": ["ten_crops", "predict_with_tta"]})["augmentation.py"]
    tree = ast.parse(text)
    names = [getattr(n, "name", None) or ast.unparse(n) for n in tree.body]
    assert "_corners" in names and "SIZE = 2 * 3" in names
    assert "import numpy as np" in names and "import os" not in names
    assert "data" not in text and "print(" not in text
    assert "the later definition wins" in text and text.count("def ten_crops") == 1


def test_a_broken_cell_defining_a_graded_function_breaks_the_module_like_a_syntax_error(tmp_path):
    notebook = write_notebook(tmp_path / "lab.ipynb", "def ten_crops(images, crop_size)\n    return images\n", "x = (")
    text = extract_modules(notebook, {"augmentation.py": ["ten_crops"], "scratch.py": ["build_scratch_cnn"]})
    with pytest.raises(SyntaxError):
        compile(text["augmentation.py"], "augmentation.py", "exec")
    compile(text["scratch.py"], "scratch.py", "exec")


def test_module_folder_extracts_only_for_a_notebook_alone(tmp_path):
    modules = tuple(GRADED)
    alone = tmp_path / "alice"
    lab_notebook(alone / "lab.ipynb", solved=False)
    folder = module_folder(alone, modules, tmp_path / "scratch" / "alice", CONFIG)
    assert folder == tmp_path / "scratch" / "alice"
    assert sorted(p.name for p in folder.glob("*.py")) == sorted(modules)
    both = tmp_path / "bob"
    lab_notebook(both / "lab.ipynb", solved=False)
    (both / "scratch.py").write_text("")
    assert module_folder(both, modules, tmp_path / "scratch" / "bob", CONFIG) == both
    assert find_notebook(tmp_path) is None


def test_an_unreadable_notebook_is_named(tmp_path):
    bad = tmp_path / "lab.ipynb"
    bad.write_text("{not json")
    with pytest.raises(NotebookSubmissionError, match="lab.ipynb"):
        extract_modules(bad, GRADED)


@pytest.mark.slow
def test_course_grade_grades_a_notebook_like_the_same_modules(ctx, tmp_path):
    """A notebook with part 1 solved and the rest stubbed scores exactly as the same modules.

    Part 1 (no training) earns points and the stubbed parts fail on `NotImplementedError`, which
    only happens when the modules were extracted from the notebook.
    """
    import shutil

    from tests.export.conftest import course_grade, modules_of, part_scores

    notebook_only = tmp_path / "notebook" / "alice"
    lab_notebook(notebook_only / "lab.ipynb", solved={"augmentation"})
    modules = modules_of(ctx.release_dir, ctx, tmp_path / "modules" / "alice")
    shutil.copy(ctx.solutions_dir / CONFIG.parts["augmentation"].module, modules)
    from_notebook = course_grade(ctx, notebook_only, tmp_path / "out-notebook")
    from_modules = course_grade(ctx, modules, tmp_path / "out-modules")
    assert from_notebook.submission == "alice"
    assert part_scores(from_notebook) == part_scores(from_modules)
    assert part_scores(from_notebook)["augmentation"] > 0
    assert [(c.name, c.score) for c in from_notebook.checks()] == [(c.name, c.score) for c in from_modules.checks()]
    for check in from_notebook.checks():
        if check.part != "augmentation":
            assert "NotImplementedError" in check.message, check
