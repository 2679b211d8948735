"""The student kit: everything a student needs to do a lab and check it, and nothing of the grader's.

`course release` writes it next to the release, as a folder and a zip:

    <lab>-kit/
      README.md          how to install it and use it (generated for the lab)
      course.yaml        the student's course file: this lab, no solution paths, no hidden split
      <lab>/             the release: stub modules, lab.ipynb, public checks and their snapshot
      wheels/*.whl       the engine, built from its own source (it names no lab, holds no solution)

Before anything is written, every file of the kit (the wheel's members included) is scanned for
what must not reach a student: solution text, the names of hidden checks, and calibrated
thresholds. A hit refuses the kit and names the file.
"""

from __future__ import annotations

import io
import re
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

from autograder.config import ConfigError
from autograder.context import CourseContext
from autograder.release.build import ReleaseError, code_lines, solution_secrets

WHEELS = "wheels"
STUDENT_CONFIG = "course.yaml"


def kit_name(lab: str) -> str:
    return f"{lab}-kit"


def student_course(ctx: CourseContext) -> dict:
    """The course file a student gets: this lab only, its release folder, no solutions, no hidden split."""
    from autograder.config.loader import read_course_file  # noqa: PLC0415

    course = read_course_file(ctx.config_path)
    entry = course.labs[ctx.lab]
    lab: dict = {"title": entry.title}
    if entry.data is not None:
        lab["data"] = entry.data.model_dump(mode="json", exclude={"hidden_test"})
    lab["parts"] = {name: part.model_dump(mode="json") for name, part in entry.parts.items()}
    lab["profiles"] = dict(entry.profiles)
    return {
        "course": {"name": course.course.name, "default_lab": ctx.lab},
        "paths": {"solutions": None, "release": "{lab}", "data_dir": None, "weights_dir": None, "cache_dir": None},
        "default_profile": course.default_profile if course.default_profile in entry.profiles else next(iter(entry.profiles)),
        "profiles": {name: course.profiles[name].model_dump(mode="json") for name in entry.profiles},
        "labs": {ctx.lab: lab},
    }


def student_readme(ctx: CourseContext, wheel: str) -> str:
    lab, config = ctx.lab, ctx.config
    if any(getattr(profile, "base", None) is not None for profile in config.profiles.values()):
        offline = (
            "The first run downloads the pretrained weights and the dataset it needs into Keras's cache\n"
            "(`~/.keras`); after that everything works offline. If your course gives you the weight files,\n"
            "point at them with `--weights-dir DIR` (or `COURSE_WEIGHTS_DIR`).\n"
        )
    else:
        offline = "Everything works offline: the lab's data comes with the installed packages or is downloaded once.\n"
    modules = ", ".join(f"`{spec.module}`" for spec in config.parts.values())
    return f"""# {config.course.name}: {config.course.title}

Your kit for the lab `{lab}`. It holds the lab (`{lab}/`: the modules you complete, {modules},
and the notebook `lab.ipynb` that drives them), the public checks, and the `course` tool.
It holds no solution and none of the grader's hidden checks.

## Set up (once)

Python 3.11 or newer:

```bash
python3 -m venv .venv
.venv/bin/pip install {WHEELS}/{wheel}
```

{offline}
## Work

Open `{lab}/lab.ipynb` (it explains each step and trains what you write), and fill in the
functions of the modules in `{lab}/`: each docstring says what the function must return.

## Check your work

```bash
cd {lab}
../.venv/bin/course check
```

runs the public checks on your modules (a minute or two on a laptop) and says what passes, what
fails and why. They carry part of the grade; the grader also trains your models on a hidden
test split and runs hidden checks.

## Hand in

```bash
../.venv/bin/course submit --student YOUR_ID
```

checks that every graded file is there and imports, runs the public checks, and writes
`{lab}-YOUR_ID.zip` with a manifest (your id and a hash of each file). Hand in that zip.
"""


def _project_root() -> Path:
    """The engine's source tree (pyproject.toml next to the `autograder` package)."""
    import autograder  # noqa: PLC0415

    root = Path(autograder.__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise ReleaseError(
            f"The student kit builds the engine's wheel from its source. Expected pyproject.toml in {root}. "
            "Received: no such file (install the course package from its repository: pip install -e .)"
        )
    return root


def build_wheel(readme: str, out: Path) -> Path:
    """The engine's wheel, built from a copy of its package with the kit's README as its description."""
    root = _project_root()
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(root / "autograder", src / "autograder", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy(root / "pyproject.toml", src / "pyproject.toml")
        (src / "README.md").write_text(readme, encoding="utf-8")
        built = Path(tmp) / "out"
        run = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir", str(built), str(src)],
            capture_output=True, text=True, check=False, env={**os.environ, "PIP_NO_INPUT": "1"},
        )
        wheels = sorted(built.glob("*.whl"))
        if run.returncode != 0 or len(wheels) != 1:
            raise ReleaseError(f"Building the engine's wheel from {root} failed (pip exit {run.returncode}):\n{run.stderr[-2000:]}")
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(wheels[0], out / wheels[0].name))


def kit_texts(folder: Path):
    """(name, text) of every file of a kit folder, each wheel's members as `wheel!member`."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if path.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield f"{name}!{member}", archive.read(member).decode("utf-8", errors="replace")
        else:
            yield name, path.read_text(encoding="utf-8", errors="replace")


def _pairs(lines: list[str]) -> set[tuple[str, str]]:
    """Consecutive non-blank lines, both of 16 characters or more (not `)` or `return base`)."""
    kept = [line for line in lines if line]
    return {(a, b) for a, b in zip(kept, kept[1:]) if len(a) >= 16 and len(b) >= 16}


def kit_secrets(ctx: CourseContext) -> dict[str, set]:
    """What no kit file may contain: solution text, hidden checks' names, calibrated thresholds.

    Solution text is a whole line of a solution block (20 characters or more) that the stubs do
    not hold; in the engine's own code, which is lab-independent and uses the same Keras idioms
    (`base.trainable = False` freezes the grader's base too), it is two lines of 16 characters or
    more in a row.
    Thresholds are the calibrated values with three decimals or more (0.5, chance, is no secret).
    """
    from autograder.calibration import Calibration  # noqa: PLC0415
    from autograder.grading.lab_checks import collect_checks  # noqa: PLC0415
    from autograder.release.markers import solution_text  # noqa: PLC0415

    solutions = ctx.solutions_dir
    hidden = {
        text
        for check in collect_checks(solutions / "checks", ctx.config)
        if check.meta.visibility != "visible"
        for text in (check.meta.name, check.function.__name__)
        if len(text) >= 12
    }
    thresholds = set()
    for path in sorted((solutions / "calibration").glob("*.json")):
        for item in Calibration.read(path).thresholds.values():
            thresholds |= {repr(v) for v in (item.threshold, item.floor) if len(repr(v).partition(".")[2]) >= 3}
    pairs = set()
    for spec in ctx.config.parts.values():
        path = solutions / spec.module
        pairs |= _pairs(solution_text(path.read_text(encoding="utf-8"), str(path)))
    return {
        "solution text": solution_secrets(solutions, ctx.config),
        "solution code": pairs,
        "a hidden check's name": hidden,
        "a threshold": thresholds,
    }


def kit_leaks(folder: Path, secrets: dict[str, set]) -> list[str]:
    """Every `file: what leaked` in a kit folder (empty: none); a wheel's members as `wheel!member`."""
    found = []
    for name, text in kit_texts(folder):
        engine = ".whl!" in name
        lines = code_lines(name, text)
        for kind, values in secrets.items():
            if kind == "solution text":
                hits = [] if engine else sorted(values & lines)
            elif kind == "solution code":
                hits = sorted(values & _pairs([line.strip() for line in text.splitlines()])) if engine else []
            elif kind == "a threshold":
                hits = sorted(v for v in values if re.search(rf"(?<![\d.]){re.escape(v)}(?!\d)", text))
            else:
                hits = sorted(v for v in values if v in text)
            if hits:
                found.append(f"{name}: {kind} {hits[0]!r}")
    return found


def write_kit(ctx: CourseContext, files: dict[str, str], out: Path) -> Path:
    """Write `out/<lab>-kit/` and `out/<lab>-kit.zip` from the release `files`; return the zip.

    Staged, scanned for leaks, then moved into place: a refused kit leaves the old one intact.
    """
    if not ctx.has_solutions:
        raise ConfigError(f"{ctx.config_path} is a student course file: a kit is made from the instructor's course.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = kit_name(ctx.lab)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out))
    try:
        kit = staging / name
        for relative, text in files.items():
            target = kit / ctx.lab / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        header = f"# The course file of your kit for {ctx.lab}: generated by `course release`; the `course` tool reads it.\n"
        (kit / STUDENT_CONFIG).write_text(header + yaml.safe_dump(student_course(ctx), sort_keys=False), encoding="utf-8")
        wheel = build_wheel(student_readme(ctx, "*.whl"), kit / WHEELS)
        (kit / "README.md").write_text(student_readme(ctx, wheel.name), encoding="utf-8")
        leaks = kit_leaks(kit, kit_secrets(ctx))
        if leaks:
            raise ReleaseError("The student kit would leak what only the grader may hold:\n" + "\n".join(leaks[:20]))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in kit.rglob("*") if p.is_file()):
                archive.write(path, path.relative_to(staging).as_posix())
        (staging / f"{name}.zip").write_bytes(buffer.getvalue())
        shutil.rmtree(out / name, ignore_errors=True)
        os.replace(kit, out / name)
        os.replace(staging / f"{name}.zip", out / f"{name}.zip")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / f"{name}.zip"
