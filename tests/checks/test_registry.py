"""@check metadata, and run_check turning every outcome into results without raising."""

import pytest

from autograder.checks.registry import check, check_meta, run_check
from autograder.checks.result import CheckFailure, failed, partial, passed
from autograder.release.public_checks import public_checks


def test_decorator_attaches_metadata_and_returns_the_function():
    def parameter_count():
        return None

    decorated = check(part="scratch", points=3, visibility="visible")(parameter_count)
    assert decorated is parameter_count
    meta = check_meta(decorated)
    assert (meta.part, meta.points, meta.visibility, meta.name) == ("scratch", 3.0, "visible", "parameter count")


def test_undecorated_function_has_no_metadata_and_cannot_be_run():
    def plain():
        return None

    assert check_meta(plain) is None
    with pytest.raises(TypeError, match="decorated with @check"):
        run_check(plain)


@pytest.mark.parametrize("kwargs, message", [({"visibility": "public"}, "visibility"), ({"points": -1}, "points")])
def test_decorator_rejects_bad_metadata(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check(**({"part": "scratch", "points": 1} | kwargs))


def test_none_means_passed_with_declared_points():
    @check(part="scratch", points=4, visibility="visible", name="counts")
    def counts():
        return None

    [result] = run_check(counts)
    assert (result.name, result.score, result.max_score, result.points) == ("counts", 4.0, 4.0, 4.0)
    assert (result.part, result.visibility) == ("scratch", "visible")


@pytest.mark.parametrize("error", [AssertionError, CheckFailure])
def test_assertion_and_check_failure_become_failed_results(error):
    @check(part="fine_tuning", points=2)
    def patience():
        raise error("Expected patience=3. Received: patience=5")

    [result] = run_check(patience)
    assert (result.score, result.max_score) == (0.0, 2.0)
    assert result.message == "Expected patience=3. Received: patience=5"


def test_other_exceptions_become_failed_results_naming_the_exception():
    @check(part="augmentation", points=1)
    def crashes(value):
        return 1 / value

    [result] = run_check(crashes, 0)
    assert result.score == 0.0
    assert "ZeroDivisionError" in result.message and "crashes" in result.message


def test_bad_return_value_becomes_failed_result():
    @check(part="augmentation", points=1)
    def returns_number():
        return 42

    [result] = run_check(returns_number)
    assert not result.ok and "Expected check 'returns number' to return None, a CheckResult" in result.message


def test_results_are_rescaled_to_declared_points():
    @check(part="scratch", points=6, visibility="hidden")
    def three_parts():
        return [passed("a"), partial("b", 0.5, "half", max_score=2.0), failed("c", "no")]

    results = run_check(three_parts)
    assert [r.max_score for r in results] == [1.5, 3.0, 1.5]
    assert [r.score for r in results] == [1.5, 1.5, 0.0]
    assert all(r.points == 6 and r.part == "scratch" and r.visibility == "hidden" for r in results)


def test_release_generator_keeps_only_visible_checks():
    source = """
from autograder.checks import check


@check(part="scratch", points=1, visibility="visible")
def public_one(model):
    return None


@check(part="scratch", points=1, visibility="hidden")
def secret_one(model):
    return None
"""
    kept = public_checks(source)
    assert "public_one" in kept and "secret_one" not in kept


def test_a_check_keeps_its_name_whether_it_passes_fails_or_crashes():
    @check(part="scratch", points=2, name="build_scratch_cnn: exact counts")
    def counts(outcome):
        if outcome == "crash":
            return 1 / 0
        if outcome == "fail":
            raise AssertionError("Expected 3,453,121. Received: 12")
        return passed("parameter counts (the library's own name)")

    names = {outcome: [r.name for r in run_check(counts, outcome)] for outcome in ("pass", "fail", "crash")}
    assert names == {outcome: ["build_scratch_cnn: exact counts"] for outcome in names}


def test_several_results_are_named_after_their_check():
    @check(part="scratch", points=3, name="compile_scratch_cnn: compile settings")
    def settings():
        return [passed("loss"), failed("optimizer and learning rate", "no"), passed("metrics")]

    assert [r.name for r in run_check(settings)] == [
        "compile_scratch_cnn: compile settings (loss)",
        "compile_scratch_cnn: compile settings (optimizer and learning rate)",
        "compile_scratch_cnn: compile settings (metrics)",
    ]


def test_every_lab_check_declares_its_name():
    from pathlib import Path

    from autograder.checks.registry import check_meta as meta_of
    from autograder.training.lab_modules import import_module_from

    folder = Path(__file__).resolve().parents[2] / "solutions" / "transfer_learning" / "checks"
    unnamed = []
    for path in sorted(folder.glob("*_checks.py")):
        module = import_module_from(path, f"named_checks_{path.stem}")
        for name, function in vars(module).items():
            meta = meta_of(function) if callable(function) else None
            if meta is not None and meta.name == name.replace("_", " "):
                unnamed.append(f"{path.name}::{name}")
    assert unnamed == []
