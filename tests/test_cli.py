"""The `course` command: verbs listed, clear one-line errors, no tracebacks for expected problems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from autograder.cli import app

runner = CliRunner()


def test_help_lists_the_verbs():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("release", "grade", "check", "calibrate", "reference", "config"):
        assert verb in result.output


def test_config_lists_parts_and_profiles():
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert "feature_extraction" in result.output and "smoke" in result.output and "gpu" in result.output


def test_grading_a_missing_path_is_one_clear_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 2
    assert "error: Expected a submission folder or .zip. Received:" in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_profile_is_one_clear_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "calibrate", "--profile", "fast"],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 2
    assert "Received: profile='fast'" in run.stderr


LOADS_KERAS = """
import sys
from autograder import cli
sys.argv = ["course", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
print("KERAS LOADED" if "keras" in sys.modules else "KERAS NOT LOADED", file=sys.stderr)
"""


def test_help_and_input_mistakes_answer_before_keras_loads(tmp_path):
    """`--help`, a missing submission and an unknown profile are answered without importing Keras
    (seconds of start-up for a typo)."""
    for args in (["--help"], ["grade", str(tmp_path / "nowhere")], ["calibrate", "--profile", "fast"], ["reference", "--profile", "fast"]):
        run = subprocess.run([sys.executable, "-c", LOADS_KERAS, *args], capture_output=True, text=True, check=False)
        assert "KERAS NOT LOADED" in run.stderr, (args, run.stderr[-2000:])


def test_version_names_the_package_keras_and_the_backend():
    import importlib.metadata

    run = subprocess.run([sys.executable, "-m", "autograder.cli", "--version"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip()
    assert line.startswith(f"course {importlib.metadata.version('transfer-learning-course')}, Python ")
    assert f"Keras {importlib.metadata.version('keras')}" in line and "KERAS_BACKEND=" in line
    assert "\n" not in line


def test_shell_completion_completes_verbs_and_options():
    import os

    def complete(words: str, index: int) -> list[str]:
        env = {**os.environ, "_COURSE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(index)}
        script = Path(sys.executable).parent / "course"  # the installed command, as a shell completes it
        run = subprocess.run([str(script)], env=env, capture_output=True, text=True, check=False)
        return run.stdout.split()

    assert complete("course gr", 1) == ["grade"]
    assert "--profile" in complete("course grade --pro", 2)
    assert "--student" in complete("course submit --stu", 2)


def test_doctor_says_what_this_machine_has_and_lacks(weights_dir, data_dir, tmp_path):
    """The backend and its devices, the sandbox levels, and per profile whether its weights are here."""
    import os

    env = {**os.environ, "COLUMNS": "400", "COURSE_WEIGHTS_DIR": str(weights_dir), "COURSE_DATA_DIR": str(data_dir),
           "KERAS_HOME": str(tmp_path / "keras")}
    smoke = subprocess.run([sys.executable, "-m", "autograder.cli", "doctor", "--profile", "smoke", "--lab", "transfer_learning"],
                           capture_output=True, text=True, env=env, check=False)
    assert smoke.returncode == 0, smoke.stderr
    rows = {line.split("│")[2].strip(): line.split("│")[1].strip() for line in smoke.stdout.splitlines() if line.count("│") >= 4}
    assert rows["weights"] == "ok" and rows["data"] == "ok" and rows["hidden test split"] == "ok"
    assert "Keras backend tensorflow" in rows and "CPU:0" in smoke.stdout
    assert rows["sandbox level plain"] == "ok"
    # gpu's alpha 1.0 is not here: its offline fallback's file is, and doctor says which it uses
    gpu = subprocess.run([sys.executable, "-m", "autograder.cli", "doctor", "--profile", "gpu", "--lab", "transfer_learning"],
                         capture_output=True, text=True, env=env, check=False)
    rows = {line.split("│")[2].strip(): line.split("│")[3].strip() for line in gpu.stdout.splitlines() if line.count("│") >= 4}
    assert gpu.returncode == 0 and "_0.5_224_no_top.h5" in rows["weights"], gpu.stdout
    assert "using its offline fallback (MobileNetV2 alpha 0.5 at 224 px" in gpu.stderr
    # with neither file here, the missing weights are named (and not downloaded either)
    (tmp_path / "no-weights").mkdir()
    none = subprocess.run([sys.executable, "-m", "autograder.cli", "doctor", "--profile", "gpu", "--lab", "transfer_learning"],
                          capture_output=True, text=True, env={**env, "COURSE_WEIGHTS_DIR": str(tmp_path / "no-weights")}, check=False)
    assert none.returncode == 0 and "No ImageNet weights for MobileNetV2(alpha=1.0)" in none.stdout, none.stdout
    assert not list((tmp_path / "keras").rglob("*.h5"))


def _help_commands(group, path=()):
    """(argv to the command, the click command) for every command and subcommand of `course`."""
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _help_commands(command, (*path, name))


def test_every_help_text_is_shown_whole():
    """Each option's help and each command's first line appear word for word in `--help`: Typer
    renders help as rich markup, where a bracketed phrase such as "[env COURSE_LAB]" is a style
    tag and vanishes."""
    import typer.main

    for path, command in _help_commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "300"}, terminal_width=300)
        assert result.exit_code == 0, (path, result.output)
        shown = " ".join(result.output.replace("│", " ").split())
        texts = [(command.help or "").split("\n\n")[0]] + [p.help for p in command.params if getattr(p, "help", None)]
        for text in texts:
            assert " ".join(text.split()) in shown, (" ".join(path) or "course", text)
