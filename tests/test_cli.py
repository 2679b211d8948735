"""The `course` command: verbs listed, clear one-line errors, no tracebacks for expected problems."""

from __future__ import annotations

import subprocess
import sys

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
