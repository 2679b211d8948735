"""The student kit: from it alone, in a fresh virtualenv, `course check` and `course submit` work;
no file of it (the engine's wheel included) holds solution text, a hidden check's name or a threshold."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder.calibration import Calibration
from autograder.config import ConfigError, load_config
from autograder.context import CourseContext
from autograder.grading.lab_checks import collect_checks
from autograder.release import build_release
from autograder.release.kit import STUDENT_CONFIG, WHEELS, kit_name, kit_texts, write_kit
from autograder.release.markers import solution_text
from autograder.release.build import ReleaseError
from autograder.submit.manifest import MANIFEST


@pytest.fixture(scope="module")
def release_files(ctx) -> dict[str, str]:
    return build_release(ctx.solutions_dir, ctx.config)


@pytest.fixture(scope="module")
def kit(ctx, release_files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kits")
    archive = write_kit(ctx, release_files, out)
    assert archive == out / f"{kit_name(ctx.lab)}.zip" and archive.is_file()
    return out / kit_name(ctx.lab)


def test_kit_holds_the_release_a_student_course_file_and_the_engine(ctx, kit, release_files):
    lab = kit / ctx.lab
    on_disk = {p.relative_to(lab).as_posix() for p in lab.rglob("*") if p.is_file()}
    assert on_disk == set(release_files)  # the release, as generated: stubs, notebook, public checks, snapshot
    for name, text in release_files.items():
        assert (lab / name).read_text(encoding="utf-8") == text, name
    (wheel,) = (kit / WHEELS).glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {member.split("/")[0] for member in archive.namelist()}
    assert tops == {"autograder", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    readme = (kit / "README.md").read_text(encoding="utf-8")
    assert f"{WHEELS}/{wheel.name}" in readme and "course check" in readme and "course submit --student" in readme


def test_student_course_file_names_no_solutions_and_no_hidden_split(ctx, kit):
    raw = yaml.safe_load((kit / STUDENT_CONFIG).read_text(encoding="utf-8"))
    assert raw["paths"]["solutions"] is None and raw["paths"]["release"] == "{lab}"
    assert list(raw["labs"]) == [ctx.lab]
    assert "hidden_test" not in raw["labs"][ctx.lab].get("data", {})
    config = load_config(kit / STUDENT_CONFIG)  # valid, and the same lab the instructor configured
    assert config.parts == ctx.config.parts
    assert {n: p.model_dump() for n, p in config.profiles.items()} == {n: p.model_dump() for n, p in ctx.config.profiles.items()}
    student = CourseContext.create(kit / STUDENT_CONFIG, cache_dir=ctx.locations.cache_dir)
    assert student.release_dir == kit / ctx.lab and not student.has_solutions
    with pytest.raises(ConfigError, match="student course file"):
        student.solutions_dir  # noqa: B018  (grading, calibrating, releasing need the instructor's course)


def test_no_kit_file_holds_solution_text_hidden_names_or_thresholds(ctx, kit):
    texts = dict(kit_texts(kit))
    assert any(".whl!autograder/" in name for name in texts)  # the wheel's members are read too
    hidden = [c.meta.name for c in collect_checks(ctx.solutions_dir / "checks", ctx.config) if c.meta.visibility != "visible"]
    thresholds = {
        f"{t.threshold:.4f}".rstrip("0")
        for path in (ctx.solutions_dir / "calibration").glob("*.json")
        for t in Calibration.read(path).thresholds.values()
        if t.threshold not in (0.5, 0.0)
    }
    solution_lines = {
        line
        for spec in ctx.config.parts.values()
        for line in solution_text((ctx.solutions_dir / spec.module).read_text(encoding="utf-8"))
        if len(line) > 25
    }
    assert hidden and thresholds and solution_lines
    for name, text in texts.items():
        lab_file = ".whl!" not in name
        assert not [h for h in hidden if h in text], name
        assert not [t for t in thresholds if t in text], name
        if lab_file:  # the engine's own Keras lines are checked in pairs (kit.kit_secrets)
            assert not solution_lines & {line.strip() for line in text.splitlines()}, name
        assert "solutions/" + ctx.lab not in text or not lab_file, name


def test_a_kit_that_would_leak_is_refused_and_the_old_one_kept(ctx, kit, release_files, tmp_path):
    """The attack: a hidden check's name or a solution line slipped into a released file."""
    out = kit.parent
    before = (out / f"{kit_name(ctx.lab)}.zip").read_bytes()
    hidden = next(c for c in collect_checks(ctx.solutions_dir / "checks", ctx.config) if c.meta.visibility != "visible")
    leaky = {**release_files, "notes.md": f"Also graded: {hidden.meta.name}\n"}
    with pytest.raises(ReleaseError, match=r"notes\.md: a hidden check's name"):
        write_kit(ctx, leaky, out)
    module = next(iter(ctx.config.parts.values())).module
    line = max(solution_text((ctx.solutions_dir / module).read_text(encoding="utf-8")), key=len)
    leaky = {**release_files, module: release_files[module] + f"\n# {line}\n{line}\n"}
    with pytest.raises(ReleaseError, match=f"{module}: solution text"):
        write_kit(ctx, leaky, out)
    assert (out / f"{kit_name(ctx.lab)}.zip").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == sorted([kit_name(ctx.lab), f"{kit_name(ctx.lab)}.zip"])  # no staging left


def _fresh_venv(path: Path, wheel: Path) -> Path:
    """A new virtualenv holding the kit's wheel; the registry's packages (Keras, TensorFlow, ...)
    come from this interpreter's site-packages through a `.pth`, so the test stays offline. The
    repository itself is not on its path: `autograder` comes from the wheel alone."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "_registry_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    return path / "bin"


@pytest.mark.slow
def test_kit_alone_runs_check_and_submit_in_a_fresh_venv(ctx, kit, tmp_path):
    """A student laptop: the kit's zip, a fresh venv, the weights; no repository, no data, no solutions."""
    student = tmp_path / "student"
    with zipfile.ZipFile(kit.parent / f"{kit_name(ctx.lab)}.zip") as archive:
        archive.extractall(student)
    folder = student / kit_name(ctx.lab)
    bin_dir = _fresh_venv(tmp_path / "venv", next((folder / WHEELS).glob("*.whl")))
    where = subprocess.run([bin_dir / "python", "-c", "import autograder; print(autograder.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(tmp_path / "venv")), where
    work = folder / ctx.lab
    for spec in ctx.config.parts.values():  # a student who got everything right
        (work / spec.module).write_text((ctx.solutions_dir / spec.module).read_text(encoding="utf-8"), encoding="utf-8")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "COLUMNS": "200",
        "TF_CPP_MIN_LOG_LEVEL": "3", "LANG": "C.UTF-8",
    }
    flags = ["--weights-dir", str(ctx.locations.weights_dir), "--cache-dir", str(tmp_path / "cache")]
    run = subprocess.run([bin_dir / "course", "check", "--json", *flags], cwd=work, env=env,
                         capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout)  # --json: stdout is the JSON alone, progress goes to stderr
    public = sum(c.course_points for c in collect_checks(work / "checks", ctx.config, complete=False))
    assert report["score"] == pytest.approx(public) and report["max_score"] == pytest.approx(public) and public > 0
    assert report["grade_points"] == ctx.config.total_points  # the public checks' real points, not rescaled
    assert sum(c["max_score"] for c in report["checks"]) == pytest.approx(public, abs=1e-3)

    run = subprocess.run([bin_dir / "course", "submit", "--student", "s1234567", "--no-checks", *flags],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with zipfile.ZipFile(work / f"{ctx.lab}-s1234567.zip") as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read(MANIFEST))
    assert {spec.module for spec in ctx.config.parts.values()} <= names and manifest["student"] == "s1234567"

    run = subprocess.run([bin_dir / "course", "grade", str(work), *flags], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 2 and "student course file" in run.stderr, run.stdout[-2000:] + run.stderr[-2000:]
