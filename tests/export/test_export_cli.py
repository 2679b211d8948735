"""`course export`: the thin CLI over `autograder.export.main`."""

from __future__ import annotations

from typer.testing import CliRunner

from autograder.cli import app


def test_export_then_check_then_drift_and_unknown_platform(ctx, tmp_path):
    config = ["--config", str(ctx.config_path)]
    out = tmp_path / ("a-long-folder-name-" * 4) / "gs"  # the message is wider than the terminal
    made = CliRunner().invoke(app, ["export", "gradescope", "--out", str(out), "--no-data", *config])
    assert made.exit_code == 0, made.output
    assert str(out / "autograder.zip") in made.output, "the path must print whole, not broken across lines"
    assert (out / "autograder.zip").is_file()
    same = CliRunner().invoke(app, ["export", "gradescope", "--out", str(out), "--no-data", "--check", *config])
    assert same.exit_code == 0 and "up to date" in same.output
    (out / "autograder" / "run_autograder").write_text("#!/bin/sh\n")
    drifted = CliRunner().invoke(app, ["export", "gradescope", "--out", str(out), "--no-data", "--check", *config])
    assert drifted.exit_code == 1 and "run_autograder" in drifted.output
    unknown = CliRunner().invoke(app, ["export", "moodle", "--out", str(out), *config])
    assert unknown.exit_code == 2 and "Expected a platform among" in unknown.output
