"""A worker runs only the probes whose data the checks ask for; `course check` runs the public ones."""

from __future__ import annotations

import json

from autograder.grading.fixtures import needed_probes
from autograder.grading.lab_checks import collect_checks
from autograder.probes.declare import PROBES_FILE, LabProbes
from autograder.probes.protocol import REPORT, ProbeRequest
from autograder.probes.worker import run


def test_the_hidden_checks_use_every_probe(ctx):
    lab = LabProbes.read(ctx.solutions_dir / PROBES_FILE)
    needed = needed_probes(collect_checks(ctx.solutions_dir / "checks", ctx.config), lab, ctx.definition())
    assert needed == {part: lab.names(part) for part in lab.by_part}
    assert set(lab.by_part) == set(ctx.config.parts)


def test_the_public_checks_skip_the_probes_only_hidden_checks_need(ctx):
    lab = LabProbes.read(ctx.release_dir / PROBES_FILE)
    needed = needed_probes(collect_checks(ctx.release_dir / "checks", ctx.config, complete=False), lab, ctx.definition(public=True))
    assert needed["augmentation"] == ("augmentation_block", "ten_crops")
    assert "features" not in needed["feature_extraction"] and "linear_classifier" not in needed["feature_extraction"]
    assert "unfreeze_elsewhere" not in needed["fine_tuning"]


def test_the_worker_runs_only_the_requested_probes(ctx, tmp_path):
    out = tmp_path / "out"
    settings = {"seed": 1, "patience": 4}
    request = ProbeRequest(
        "fine_tuning", str(ctx.solutions_dir / "fine_tuning.py"), str(tmp_path), str(out), settings, ["callbacks"],
        str(ctx.solutions_dir / PROBES_FILE),
    )
    outcomes = run(request)
    assert [(o.name, o.ok) for o in outcomes] == [("callbacks", True)]
    report = json.loads((out / REPORT).read_text())
    assert [o["name"] for o in report["outcomes"]] == ["callbacks"]
    assert json.loads((out / "callbacks.json").read_text())[0]["patience"] == 4
