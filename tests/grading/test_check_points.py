"""`@check(points=...)` are course points: what a check declares is what it is worth, everywhere."""

from __future__ import annotations

import re
import shutil

import pytest

from autograder.grading.lab_checks import collect_checks


def test_each_check_is_worth_what_it_declares_and_the_parts_add_up(ctx):
    checks = collect_checks(ctx.solutions_dir / "checks", ctx.config)
    totals: dict[str, float] = {}
    for check in checks:
        assert check.course_points == check.meta.points, check.source
        totals[check.meta.part] = totals.get(check.meta.part, 0.0) + check.course_points
    assert totals == pytest.approx({name: part.points for name, part in ctx.config.parts.items()})


def test_a_lab_whose_checks_do_not_add_up_is_refused_with_both_numbers(ctx, tmp_path):
    folder = tmp_path / "checks"
    shutil.copytree(ctx.solutions_dir / "checks", folder)
    path = folder / "fine_tuning_checks.py"
    source = path.read_text()
    first = re.search(r'part="fine_tuning", points=(\d+)', source)
    declared = int(first.group(1))
    path.write_text(source.replace(first.group(0), f'part="fine_tuning", points={declared + 2}', 1))
    part_points = ctx.config.parts["fine_tuning"].points
    with pytest.raises(ValueError) as refused:
        collect_checks(folder, ctx.config)
    message = str(refused.value)
    assert "fine_tuning" in message and str(folder) in message
    assert f"{part_points + 2:g}" in message and f"{part_points:g}" in message


def test_a_part_without_checks_is_refused(ctx, tmp_path):
    folder = tmp_path / "checks"
    shutil.copytree(ctx.solutions_dir / "checks", folder)
    (folder / "scratch_checks.py").unlink()
    with pytest.raises(ValueError, match=r"scratch: the checks add up to 0\b.*gives the part 20"):
        collect_checks(folder, ctx.config)


def test_public_checks_keep_the_points_they_are_worth_in_the_grade(ctx):
    hidden = {c.meta.name: c.course_points for c in collect_checks(ctx.solutions_dir / "checks", ctx.config)}
    public = collect_checks(ctx.release_dir / "checks", ctx.config, complete=False)
    assert public and all(c.meta.visibility == "visible" for c in public)
    assert {c.meta.name: c.course_points for c in public} == {c.meta.name: hidden[c.meta.name] for c in public}
    assert sum(c.course_points for c in public) < ctx.config.total_points
