"""Every export as safe as `course grade`.

Gradescope: the zip's solutions, hidden checks, calibrations, data and grader-only inputs are
root's and the grader's only (`lockdown.sh`, run by `setup.sh`), and at the plain isolation level
(forced with `COURSE_SANDBOX_LEVEL=plain`, as in a container without user namespaces) a
submission that tries to read them at import reads none and gets the reference's grade.

nbgrader: nothing a student's kernel does reaches the score. The attack: a submitted notebook whose cells patch `autograder.export.runtime.grade_part`,
replace the module in `sys.modules` and patch builtins (what a test cell run in the same kernel
would use) scores what the same notebook without them scores, and none of its cells runs at
`nbgrader autograde` (the grading is `course grade` of the notebook, sandboxed). The graded
notebooks come from the one `nbgrader autograde` run of `tests/export/test_nbgrader.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import export
from tests.conftest import TEST_PROFILE
from tests.export.conftest import part_scores
from tests.export.test_otter import exported, otter_part_scores, otter_run  # noqa: F401  (fixtures)

pytestmark = pytest.mark.heavy(seconds=85)  # one worker with SAME_WORKER's (tests/conftest.py)


@pytest.mark.slow
def test_nbgrader_kernel_patches_gain_nothing(gradebook_scores):
    assert gradebook_scores["attacker"] == gradebook_scores["stub"]
    assert all(score == 0.0 for score in gradebook_scores["attacker"].values())


@pytest.mark.slow
def test_nbgrader_autograde_runs_no_student_cell(gradebook_scores, attack_marker):
    assert not attack_marker.exists()


# -- otter: the same attacks, and the old plugin's hand-off file ---------------------------------

OTTER_ATTACK = (
    "import json, pathlib\n"
    "import autograder.export.runtime as runtime\n"
    "runtime.grade_notebook = runtime.grade_part = lambda *args, **kwargs: 1000.0\n"
    "parts = ['augmentation', 'scratch', 'feature_extraction', 'fine_tuning']\n"
    "pathlib.Path('.course-grading.json').write_text(json.dumps({p: {'score': 1000.0, 'max_score': 1000.0} for p in parts}))\n"
    "pathlib.Path(MARKER).write_text('a student cell ran in otter')\n"
)


@pytest.mark.slow
def test_otter_kernel_patches_gain_nothing_and_no_student_cell_runs(exported, tmp_path, grading_env, ctx, stub_result):  # noqa: F811
    marker = tmp_path / "ran"
    notebook = nbformat.read(exported / "student" / "lab.ipynb", as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_code_cell(OTTER_ATTACK.replace("MARKER", repr(str(marker)))))
    nbformat.write(notebook, tmp_path / "lab.ipynb")
    results = otter_run(exported, tmp_path / "lab.ipynb", tmp_path / "run", grading_env)
    assert otter_part_scores(results, ctx) == part_scores(stub_result) == {p: 0.0 for p in ctx.config.parts}
    assert not marker.exists()


# -- Gradescope: the zip's secrets in the container where student code runs -----------------------


as_root = pytest.mark.skipif(os.geteuid() != 0, reason="setup.sh and the per-run user ids need root")

PROBE = '''

# --- a hostile addition: read the grader's files at import; raise if any read works ---
def _steal():
    import pathlib
    for path in {paths!r}:
        try:
            data = pathlib.Path(path).read_bytes()
        except OSError:
            continue
        raise RuntimeError("LEAKED " + path + " " + repr(data[:40]))


_steal()
'''


def unpack(ctx, tmp: Path, data: Path | None, cache: Path | None) -> Path:
    """A folder laid out like Gradescope's /autograder (enterable by everyone, like the real one)."""
    out = tmp / "export"
    export.main(ctx, "gradescope", out, TEST_PROFILE, with_data=False)
    root = tmp / "autograder"
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True)
    with zipfile.ZipFile(out / "autograder.zip") as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # zipfile drops the modes
            (root / "source" / info.filename).chmod((info.external_attr >> 16) & 0o777)
    if data is not None:
        shutil.copytree(data, root / "source" / "course" / "data")
    if cache is not None:
        shutil.copytree(cache, root / "cache", ignore=shutil.ignore_patterns("*.lock", "*.tmp*"))
    script = root / "run_autograder"
    shutil.copy(root / "source" / "run_autograder", script)
    script.chmod(0o755)
    for folder in (tmp, *[p for p in root.rglob("*") if p.is_dir()]):
        folder.chmod(folder.stat().st_mode | 0o755)
    return root


def lockdown(root: Path, env: dict) -> None:
    done = subprocess.run([str(root / "source" / "lockdown.sh")], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def gradescope_env(root: Path, grading_env: dict, **extra: str) -> dict:
    env = {**grading_env, "GRADESCOPE_ROOT": str(root), "COURSE_PYTHON": sys.executable}
    env["COURSE_DATA_DIR"] = str(root / "source" / "course" / "data")
    env["COURSE_CACHE_DIR"] = str(root / "cache")
    return {**env, **extra}


@pytest.fixture
def open_tmp():
    folder = Path(tempfile.mkdtemp(prefix="course-gs-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def reachable_python(root: Path) -> str:
    """A Python every user may run, with this environment's packages: setup.sh's venv, in a test.

    At the plain level a root grader runs student code under a user id of its own, which must
    reach the interpreter (as the image's /usr/bin/python3 is); a pyenv Python under /root is not.
    """
    from autograder.sandbox.isolation import reachable_by_others

    if reachable_by_others(os.path.realpath(sys.executable), 0o001):
        return sys.executable
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = shutil.which(f"python{version}", path="/usr/local/bin:/usr/bin")
    if base is None or not reachable_by_others(os.path.realpath(base), 0o001):
        pytest.skip(f"no Python {version} every user may run (the plain level's per-run user needs one)")
    venv = root / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{version}" / "site-packages"
    (site / "course.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    return str(venv / "bin" / "python")


def secrets_of(root: Path, lab: str) -> dict[str, Path]:
    bundle = root / "source" / "course"
    hidden = sorted((root / "cache" / "grading").glob("*/hidden/*.npz"))
    images = sorted((bundle / "data").rglob("*.jpg"))
    return {
        "solution": bundle / "solutions" / lab / "scratch.py",
        "hidden check": next((bundle / "solutions" / lab / "checks").glob("*_checks.py")),
        "calibration": next((bundle / "solutions" / lab / "calibration").glob("*.json")),
        "hidden image": images[-1],
        "grader-only input": hidden[0],
    }


@as_root
def test_gradescope_lockdown_leaves_the_grader_files_to_root_and_the_grader(ctx, open_tmp, grading_env):
    data = open_tmp / "data" / "cats_and_dogs_extra" / "cats"
    data.mkdir(parents=True)
    (data / "1.jpg").write_bytes(b"jpeg")
    hidden = open_tmp / "cache" / "grading" / "ci-x" / "hidden"
    hidden.mkdir(parents=True)
    (hidden / "labels.npz").write_bytes(b"npz")
    (open_tmp / "cache" / "grading" / "ci-x" / "worker").mkdir()
    (open_tmp / "cache" / "grading" / "ci-x" / "worker" / "probe_images.npz").write_bytes(b"npz")
    root = unpack(ctx, open_tmp, open_tmp / "data", open_tmp / "cache")
    lockdown(root, gradescope_env(root, grading_env))
    for name, path in secrets_of(root, ctx.config.course.lab).items():
        info = path.stat()
        assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o640, (name, oct(info.st_mode))
        for parent in path.parents:
            if parent in (root / "source" / "course", root / "cache", root / "cache" / "grading"):
                break
            if parent.name in ("solutions", "data", "hidden"):
                assert stat.S_IMODE(parent.stat().st_mode) == 0o750, parent
    worker = root / "cache" / "grading" / "ci-x" / "worker" / "probe_images.npz"
    assert stat.S_IMODE(worker.stat().st_mode) == 0o644
    engine = root / "source" / "course" / "autograder" / "sandbox" / "runner.py"
    assert stat.S_IMODE(engine.stat().st_mode) == 0o644 and engine.stat().st_uid == 0
    assert not any(p.stat().st_mode & 0o022 for p in (root / "source").rglob("*")), "writable by others"


@as_root
@pytest.mark.slow
def test_gradescope_plain_level_student_code_reads_none_of_the_grader_files(
    ctx, open_tmp, grading_env, reference_result
):
    root = unpack(ctx, open_tmp, ctx.locations.data_dir, ctx.locations.cache_dir)
    env = gradescope_env(root, grading_env, COURSE_SANDBOX_LEVEL="plain", COURSE_PYTHON=reachable_python(root))
    prepared = subprocess.run([str(root / "run_autograder"), "--prepare"], env=env, capture_output=True, text=True, check=False)
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    lockdown(root, env)
    paths = [str(p) for p in secrets_of(root, ctx.config.course.lab).values()]
    for part in ctx.config.parts.values():
        source = (ctx.solutions_dir / part.module).read_text()
        (root / "submission" / part.module).write_text(source + PROBE.format(paths=paths))
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert "LEAKED" not in json.dumps(results)
    scores: dict[str, float] = {}
    for test in results["tests"]:
        (part,) = test["tags"]
        scores[part] = round(scores.get(part, 0.0) + test["score"], 3)
    assert scores == pytest.approx(part_scores(reference_result), abs=0.01)


@as_root
def test_gradescope_plain_level_grades_student_models_in_a_limited_child(ctx, open_tmp, grading_env):  # noqa: F811
    """As root at the plain level, loading and training the returned models is held to the caps.

    The attack: a submission whose models are too slow for the grader-side budget. At the plain
    level a root `run_autograder` must stay root (the sandbox runs student code under per-run
    user ids), so the grader-side steps run in a grading child with the batch's time and memory
    caps: a budget of 3 s stops it, and the submission's row says why.
    """
    root = open_tmp / "autograder"  # the per-run user ids pass through it
    (root / "submission").mkdir(parents=True)
    for part in ctx.config.parts.values():
        shutil.copy(ctx.solutions_dir / part.module, root / "submission" / part.module)
    python = reachable_python(open_tmp)
    argv = [python, "-m", "autograder.export.gradescope_entry", "--root", str(root), "--profile", TEST_PROFILE]
    env = {**grading_env, "COURSE_SANDBOX_LEVEL": "plain"}
    done = subprocess.run([*argv, "--grading-seconds", "3"], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0.0
    assert "longer than 3 s" in json.dumps(results), results["output"]
