"""The second lab, `digits`, on the same engine: the same verbs, its own folder, nothing of it in `autograder/`.

scikit-learn's bundled 8x8 digits (offline); ten classes, argmax accuracy on a hidden split the
grader keeps to itself. Graded on the `ci` profile.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.grading.test_mutants import Mutant, without_checks  # the transfer-learning catalogue's: one edit of the reference

pytestmark = pytest.mark.heavy(seconds=120)

REPO = Path(__file__).resolve().parents[2]
PROFILE = "ci"


def failing(result):
    return [f"{c.part}: {c.name}: {c.score}/{c.max_score}: {c.message[:300]}" for c in result.checks() if not c.ok]


def test_the_engine_names_nothing_of_either_lab(digits, ctx):
    """No graded function name of either lab anywhere in autograder/, no part name as a string literal."""
    names, parts = set(), set()
    for lab in (ctx, digits):
        parts |= set(lab.config.parts)
        names |= {f for spec in lab.config.parts.values() for f in spec.functions}
    found = []
    for path in sorted((REPO / "autograder").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {n}" for n in names if re.search(rf"\b{n}\b", text)]
        found += [f"{path.name}: {p!r}" for p in parts if re.search(rf"[\"']{p}[\"']", text)]
    assert found == []


def test_the_lab_is_chosen_by_flag_environment_or_folder(digits, monkeypatch, tmp_path):
    from autograder.config import ConfigError, load_config

    assert load_config(REPO / "course.yaml").course.lab == "transfer_learning"  # course.default_lab
    assert digits.config.course.lab == "digits" and set(digits.config.parts) == {"dense", "convnet"}
    monkeypatch.setenv("COURSE_LAB", "digits")
    assert load_config(REPO / "course.yaml").course.lab == "digits"
    monkeypatch.delenv("COURSE_LAB")
    monkeypatch.chdir(REPO / "assignments" / "digits")
    assert load_config(REPO / "course.yaml").course.lab == "digits"
    with pytest.raises(ConfigError, match=r"Unknown lab. Expected one of \['digits', 'transfer_learning'\]. Received: lab='dgits'"):
        load_config(REPO / "course.yaml", "dgits")


def test_the_labs_own_profile_model_types_and_validates_its_budget(digits, tmp_path):
    import yaml

    from autograder.config import ConfigError, load_config

    profile = digits.profile("cpu")
    assert profile.dense.hidden_units == 64 and profile.seed == 1337 and type(profile).__name__ == "Profile"
    raw = yaml.safe_load((REPO / "course.yaml").read_text())
    raw["labs"]["digits"]["profiles"]["cpu"]["dense"]["hidden_units"] = 0
    for folder in ("solutions", "release"):
        raw["paths"][folder] = str(REPO / raw["paths"][folder])
    bad = tmp_path / "course.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"labs\.digits\.profiles\.cpu\.dense\.hidden_units.*Received: .*=0"):
        load_config(bad, "digits")


def test_the_hidden_split_is_fixed_and_never_in_the_workers_inputs(digits, digits_grader):
    profile = digits.profile(PROFILE)
    load = digits.split_loader(profile)
    test, train = load("test", 8), load("train", 8)
    assert len(test) == 397 and len(train) == profile.train_images and train.images.shape[1:] == (8, 8, 1)
    assert not set(test.files) & set(train.files)
    worker_files = [p.name for p in digits_grader.inputs.worker.rglob("*") if p.is_file()]
    assert "dummy_model.keras" in worker_files and not [n for n in worker_files if n.endswith(".npz")]


def test_reference_scores_full_marks(digits_reference):
    assert failing(digits_reference) == []
    assert digits_reference.score == pytest.approx(100.0)
    assert [c.name for c in digits_reference.curves] == ["dense", "convnet"]
    assert all(len(c.probabilities[0]) == 10 for c in digits_reference.curves)


def test_stubs_score_zero(digits_stubs):
    result = digits_stubs
    assert result.score == 0
    assert all("NotImplementedError" in c.message or "not written" in c.message.lower() for c in result.checks()), failing(result)[:3]


DENSE_ACC, CONVNET_ACC = ("dense: hidden-test accuracy",), ("convnet: hidden-test accuracy",)
MUTANTS = [
    Mutant("dense_units_hard_coded", "dense.py", 'layers.Dense(hidden_units, activation="relu")', 'layers.Dense(64, activation="relu")',
           ("build_dense_network: exact parameter counts", "build_dense_network: follows its arguments")),
    Mutant("dense_no_rescaling", "dense.py", "    x = layers.Rescaling(1.0 / 16)(inputs)\n    x = layers.Flatten()(x)", "    x = layers.Flatten()(inputs)",
           ("build_dense_network: layers in order", "build_dense_network: follows its arguments"), DENSE_ACC),
    Mutant("dense_categorical_loss", "dense.py", "loss=keras.losses.SparseCategoricalCrossentropy()", "loss=keras.losses.CategoricalCrossentropy()",
           ("compile_dense_network: compile settings (loss",), DENSE_ACC),
    Mutant("convnet_rate_ignored", "convnet.py", "optimizer=keras.optimizers.Adam(learning_rate=learning_rate)",
           "optimizer=keras.optimizers.Adam(learning_rate=3e-3)", ("compile_convnet: compile settings (optimizer",)),
    Mutant("convnet_dropout_hard_coded", "convnet.py", "x = layers.Dropout(dropout)(x)", "x = layers.Dropout(0.2)(x)",
           ("build_convnet: follows its arguments",)),
    Mutant("convnet_flatten_for_pooling", "convnet.py", "layers.GlobalAveragePooling2D()(x)", "layers.Flatten()(x)",
           ("build_convnet: exact parameter counts", "build_convnet: layers in order", "build_convnet: follows its arguments"), CONVNET_ACC),
]


def test_the_catalogue_has_at_least_five_mistakes_that_apply(digits):
    assert len({m.name for m in MUTANTS}) == len(MUTANTS) >= 5
    for mutant in MUTANTS:
        assert (digits.solutions_dir / mutant.module).read_text().count(mutant.old) == 1, mutant.name


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_on_its_checks_only(mutant, digits_grader, digits, tmp_path):
    folder = mutant.apply(digits.solutions_dir, tmp_path / mutant.name)
    checks = without_checks(digits_grader, mutant.collateral).grade(folder, parts=(mutant.part,)).checks()
    intended = [c for c in checks if c.name.startswith(mutant.intended)]
    assert intended and all(any(c.name.startswith(i) for c in intended) for i in mutant.intended), [c.name for c in checks]
    lost = {i for i in mutant.intended if any(c.name.startswith(i) and not c.ok for c in intended)}
    assert lost == set(mutant.intended), f"{mutant.name} kept full marks on {set(mutant.intended) - lost}"
    unexpected = [f"{c.name}: {c.message[:200]}" for c in checks if c not in intended and not c.ok]
    assert unexpected == []


def test_release_is_generated_from_the_solutions(digits):
    from autograder import release

    assert release.main(digits, check=True) == []
    released = {p.name for p in digits.release_dir.iterdir()}
    assert {"dense.py", "convnet.py", "lab.ipynb", "probes.py", "definition.py", "checks"} <= released
    assert "BEGIN SOLUTION" not in (digits.release_dir / "dense.py").read_text()


def test_course_check_runs_the_public_checks_with_their_real_points(digits, tmp_path, capsys):
    """The reference gets the public points, the stubs none. The stubs lie in a folder whose name
    looks like rich markup ("[/draft]" once crashed `course check`, "[bold]" vanished from it)."""
    import io

    from autograder.grading import check
    from autograder.terminal import make_console

    solved, unsolved = tmp_path / "solved[/draft] [bold]", tmp_path / "lab[/draft] [bold]"
    shutil.copytree(digits.solutions_dir, solved)
    shutil.copytree(digits.release_dir, unsolved)
    capsys.readouterr()
    result = check.main(digits, solved, PROFILE)  # as in a log: a line per check
    assert result.score == result.max_score == pytest.approx(32.0)
    shown = "".join(capsys.readouterr().out.split())  # without the spaces and line breaks of wrapping
    assert "solved[/draft][bold]" in shown, shown[:2000]
    terminal = io.StringIO()  # as on a terminal: a spinner
    stubs = check.main(digits, unsolved, PROFILE, console=make_console(file=terminal, force_terminal=True, width=300))
    assert stubs.score == 0
    assert "lab[/draft][bold]" in "".join(terminal.getvalue().split()), terminal.getvalue()[:2000]


@pytest.mark.slow
def test_the_notebook_runs_from_the_release_with_working_modules(digits, tmp_path, monkeypatch):
    """A student's copy of the release with every function written: the whole notebook runs, in its own folder."""
    import nbformat
    from nbclient import NotebookClient

    work = tmp_path / "assignments" / "digits"
    shutil.copytree(digits.release_dir, work)
    for spec in digits.config.parts.values():
        shutil.copy(digits.solutions_dir / spec.module, work / spec.module)
    monkeypatch.setenv("COURSE_CONFIG", str(digits.config_path))
    monkeypatch.setenv("COURSE_LAB", "digits")  # a copy outside the course folder says which lab it is
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(work / "lab.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "validation accuracy" in outputs and "convnet:" in outputs


@pytest.mark.slow
def test_the_three_exports_give_the_reference_full_marks(digits, tmp_path):
    """Gradescope's run_autograder, `otter run` and `nbgrader autograde`, each the real tool, on the digits lab."""
    import os
    import sys

    import nbformat
    from nbgrader.api import Gradebook

    from autograder import export
    from tests.export.test_gradescope import gradescope_part_scores, run_autograder
    from tests.export.test_nbgrader import nbgrader, share_with_grading_user, solved_submission
    from tests.export.test_otter import otter_part_scores, otter_run

    loc = digits.locations
    env = {
        **os.environ, "COURSE_DATA_DIR": str(loc.data_dir), "COURSE_WEIGHTS_DIR": str(loc.weights_dir),
        "COURSE_CACHE_DIR": str(loc.cache_dir), "TF_CPP_MIN_LOG_LEVEL": "2",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("COURSE_LAB", None)  # each export says which lab it grades
    full = {part: float(spec.points) for part, spec in digits.config.parts.items()}
    exports = {}
    for platform in ("gradescope", "otter", "nbgrader"):
        exports[platform] = tmp_path / platform
        export.main(digits, platform, exports[platform], PROFILE, with_data=False)
        share_with_grading_user(exports[platform])

    submission = tmp_path / "submission"
    submission.mkdir()
    for spec in digits.config.parts.values():
        shutil.copy(digits.solutions_dir / spec.module, submission)
    results = run_autograder(exports["gradescope"], submission, tmp_path / "gs-root", env)
    assert gradescope_part_scores(results) == pytest.approx(full, abs=0.01), [t["output"][:300] for t in results["tests"]]

    otter = otter_run(exports["otter"], exports["otter"] / "solution" / "lab.ipynb", tmp_path / "otter-run", env)
    assert otter_part_scores(otter, digits) == pytest.approx(full, abs=0.01)

    course = exports["nbgrader"]
    nbgrader(course, env, "generate_assignment", "digits")
    (course / "submitted" / "solved" / "digits").mkdir(parents=True)
    nbformat.write(solved_submission(course, "digits"), course / "submitted" / "solved" / "digits" / "lab.ipynb")
    share_with_grading_user(course)
    nbgrader(course, env, "autograde", "digits")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {part: round(gb.find_grade(f"test_{part}", "lab", "digits", "solved").score, 3) for part in full}
    assert scores == pytest.approx(full, abs=0.01)
