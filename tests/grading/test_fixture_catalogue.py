"""`course checks --fixtures`: every name a check may ask for, with its part, source and type."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from autograder.cli import app
from autograder.grading.fixtures import SHARED, fixture_catalogue
from autograder.grading.lab_checks import collect_checks
from autograder.probes.declare import PROBES_FILE, LabProbes


def test_the_catalogue_names_every_parameter_of_every_check(ctx):
    lab = LabProbes.read(ctx.solutions_dir / PROBES_FILE)
    catalogue = {item.name: item for item in fixture_catalogue(lab, ctx.definition())}
    checks = collect_checks(ctx.solutions_dir / "checks", ctx.config)
    asked = {name for check in checks for name in check.parameters}
    assert asked - set(catalogue) == set()
    for item in catalogue.values():
        if not item.part:
            continue
        assert item.part in ctx.config.parts, item
        if ", trained from " in item.source:  # a run trained from artifacts of the catalogue
            needs = item.source.split(", trained from ")[1].split(", ")
            assert all(catalogue[need].part == item.part for need in needs), item
        else:  # read from or measured on a probe of its part
            assert any(f"probe {name}" in item.source for name in lab.names(item.part)), item


def test_the_shared_names_are_what_the_grader_gives(grader):
    assert set(grader.shared_values()) == set(SHARED)


def test_course_checks_lists_fixtures_and_the_checks_with_their_points(ctx):
    runner = CliRunner()
    env = {**os.environ, "COLUMNS": "250"}
    listed = runner.invoke(app, ["checks", "--fixtures"], env=env)
    assert listed.exit_code == 0, listed.output
    for item in fixture_catalogue(LabProbes.read(ctx.solutions_dir / PROBES_FILE), ctx.definition()):
        assert item.name in listed.output
    assert "probe transfer_model" in listed.output and "keras.Model" in listed.output
    table = runner.invoke(app, ["checks"], env=env)
    assert table.exit_code == 0, table.output
    for name, part in ctx.config.parts.items():
        assert f"{part.points:g} / {part.points:g}" in table.output, name
    public = runner.invoke(app, ["checks", "--public"], env=env)
    assert public.exit_code == 0 and "hidden" not in public.output.replace("hidden-test", "")
