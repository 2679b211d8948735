"""The student release is generated from solutions/, holds no solution, and raises in every stub."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.release import MarkerError, build_release, release_drift, strip_solutions, write_release
from autograder.release.build import ReleaseError, Transform, no_solution_leaks, stub_modules
from autograder.release.markers import solution_text
from autograder.release.public_checks import public_checks
from autograder.export.lab_notebook import python_only
from autograder.training.lab_modules import import_module_from

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "course.yaml")
PART_NAMES = CONFIG.part_names
SOLUTIONS = REPO / CONFIG.paths.solutions
RELEASE = REPO / CONFIG.paths.release


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return build_release(SOLUTIONS, CONFIG)


def test_committed_release_has_not_drifted(generated):
    assert release_drift(generated, RELEASE) == []


def test_release_holds_no_solution_text(generated):
    for part in PART_NAMES:
        module = CONFIG.parts[part].module
        secret = [line for line in solution_text((SOLUTIONS / module).read_text()) if len(line) > 25]
        assert secret, f"{module} has no solution lines to look for"
        for name, text in generated.items():
            code = {line.strip() for line in text.splitlines()}
            assert "BEGIN SOLUTION" not in text
            assert not set(secret) & code, name


def test_stubs_keep_signatures_and_docstrings(generated):
    for part in PART_NAMES:
        module = CONFIG.parts[part].module
        solution = ast.parse((SOLUTIONS / module).read_text())
        stub = ast.parse(generated[module])
        solved = {f.name: f for f in solution.body if isinstance(f, ast.FunctionDef)}
        stubbed = {f.name: f for f in stub.body if isinstance(f, ast.FunctionDef)}
        assert solved.keys() == stubbed.keys()
        for name, function in solved.items():
            assert ast.dump(function.args) == ast.dump(stubbed[name].args), name
            assert ast.get_docstring(function) == ast.get_docstring(stubbed[name]), name


def test_every_graded_function_raises_not_implemented(tmp_path, generated):
    import numpy as np

    write_release(generated, tmp_path / "release")
    calls = {
        "build_augmentation": (32, 32),
        "ten_crops": (np.zeros((1, 8, 8, 3)), 4),
        "predict_with_tta": (None, np.zeros((1, 8, 8, 3)), 4),
        "build_scratch_cnn": (),
        "compile_scratch_cnn": (None,),
        "load_base": (),
        "extract_features": (None, np.zeros((1, 8, 8, 3))),
        "fit_linear_classifier": (np.zeros((2, 3)), np.array([0, 1])),
        "build_transfer_model": (None,),
        "compile_transfer_model": (None,),
        "unfreeze_top": (None, 0),
        "compile_for_fine_tuning": (None,),
        "fine_tuning_callbacks": (),
    }
    for part in PART_NAMES:
        module = import_module_from(tmp_path / "release" / CONFIG.parts[part].module, f"stub_{part}")
        for function in CONFIG.parts[part].functions:
            with pytest.raises(NotImplementedError, match=function):
                getattr(module, function)(*calls[function])


def test_notebook_is_valid_without_outputs_and_drives_the_modules(generated):
    notebook = nbformat.reads(generated["lab.ipynb"], as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    for part in PART_NAMES:
        assert f"import {part}" in code
    assert "load_training_data" in code and "test" not in {w.strip("(),") for w in code.split()}
    ast.parse(python_only(code))  # IPython magics (%autoreload) blanked
    assert "%autoreload 2" in code


def test_generation_is_deterministic(generated):
    assert build_release(SOLUTIONS, CONFIG) == generated


def test_markers_must_balance_and_sit_in_functions():
    with pytest.raises(MarkerError, match="x.py:2: BEGIN SOLUTION without an END"):
        strip_solutions("def f():\n    # BEGIN SOLUTION\n    return 1\n", "x.py")
    with pytest.raises(MarkerError, match="x.py:3: END SOLUTION without a BEGIN"):
        strip_solutions("def f():\n    return 1\n    # END SOLUTION\n", "x.py")
    with pytest.raises(MarkerError, match="outside any function"):
        strip_solutions("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "x.py")
    stub = strip_solutions("def f(a):\n    '''Doc.'''\n    # BEGIN SOLUTION add one\n    return a + 1\n    # END SOLUTION\n")
    assert stub == "def f(a):\n    '''Doc.'''\n    raise NotImplementedError('f: add one')\n"


def test_public_checks_keep_only_visible_checks():
    source = (
        "from autograder.checks import check\n\n"
        "def helper():\n    return 1\n\n"
        "@check(part='scratch', points=1, visibility='visible')\n"
        "def test_shown():\n    assert helper()\n\n"
        "@check(part='scratch', points=2, visibility='hidden')\n"
        "def test_secret_threshold():\n    assert 0.93\n\n"
        "@check(part='scratch', points=2)\n"
        "def test_unlabelled():\n    pass\n"
    )
    kept = public_checks(source)
    assert "test_shown" in kept and "def helper" in kept
    assert "secret" not in kept and "0.93" not in kept and "test_unlabelled" not in kept
    ast.parse(kept)
    assert public_checks(source.replace("'visible'", "'hidden'")) is None


def test_public_checks_keep_only_what_the_public_checks_use():
    source = (
        '"""Part checks: flags, and the secret accuracy threshold of the hidden model."""\n\n'
        "from autograder.checks import check\n"
        "from autograder.checks.accuracy import score_accuracy\n"
        "from autograder.checks.trainability import check_trainability_flags, check_frozen_by_behaviour\n\n"
        "LIMIT = 0.93\n\n\n"
        "def _uses(x):\n    return x\n\n\n"
        "def _hidden_helper(model):\n    return LIMIT\n\n\n"
        "@check(part='scratch', points=1, visibility='visible')\n"
        "def shown(model, reference):\n    return check_trainability_flags(_uses(model), reference)\n\n\n"
        "@check(part='scratch', points=2, visibility='hidden')\n"
        "def secret(model):\n    return score_accuracy(_hidden_helper(model), LIMIT) or check_frozen_by_behaviour(model)\n"
    )
    kept = public_checks(source)
    ast.parse(kept)
    assert "def shown" in kept and "def _uses" in kept and "check_trainability_flags" in kept
    for gone in ("secret", "_hidden_helper", "LIMIT", "score_accuracy", "check_frozen_by_behaviour", "0.93", "hidden model"):
        assert gone not in kept, gone
    assert "from autograder.checks import check\n" in kept


def test_released_check_files_import_nothing_they_do_not_use(generated):
    for name, text in generated.items():
        if name.startswith("checks/") and name.endswith(".py"):
            tree = ast.parse(text)
            imported = {alias.asname or alias.name.split(".")[0] for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                        for alias in node.names if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")}
            used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            assert imported - used == set(), name


def test_check_files_are_not_pytest_files(generated):
    """Checks take the grader's data by name; pytest run in the release must not collect them."""
    checks = [name for name in generated if name.startswith("checks/") and name.endswith(".py")]
    assert checks
    for name in checks:
        file = name.rsplit("/", 1)[1]
        assert not (file.startswith("test_") or file.endswith("_test.py")), name
        functions = [n.name for n in ast.walk(ast.parse(generated[name])) if isinstance(n, ast.FunctionDef)]
        assert not [f for f in functions if f.startswith("test")], name


def test_transform_order_is_enforced_in_code():
    wrong_order = (Transform("no_solution_leaks", no_solution_leaks, needs=("stub_modules",)), Transform("stub_modules", stub_modules))
    with pytest.raises(ReleaseError, match="must run after \\['stub_modules'\\]"):
        build_release(SOLUTIONS, CONFIG, transforms=wrong_order)


def test_drift_names_the_file(tmp_path, generated):
    write_release(generated, tmp_path / "release")
    (tmp_path / "release" / "scratch.py").write_text("edited by hand\n")
    (tmp_path / "release" / "extra.py").write_text("")
    problems = release_drift(generated, tmp_path / "release")
    assert any(p.startswith("scratch.py: differs") for p in problems)
    assert any(p.startswith("extra.py: in") for p in problems)


def test_cli_check_exits_non_zero_on_drift(tmp_path):
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "course"
    shutil.copytree(REPO / "solutions", copy / "solutions")
    shutil.copytree(REPO / "assignments", copy / "assignments")
    shutil.copy(REPO / "course.yaml", copy / "course.yaml")
    command = [sys.executable, "-m", "autograder.cli", "release", "--check", "--config", str(copy / "course.yaml")]
    # (The committed release passing --check is test_committed_release_has_not_drifted, and .ci/run.)
    stub = copy / "assignments" / "transfer_learning" / "fine_tuning.py"
    stub.write_text(stub.read_text() + "\n# drift\n")
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert "fine_tuning.py: differs" in run.stderr
    assert run.stderr.count(": differs") == 1, run.stderr  # the edit is the only drift found
