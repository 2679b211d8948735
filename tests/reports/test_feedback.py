"""feedback.md and its plots: every check listed, hidden messages withheld, valid PNGs linked relatively."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from autograder.grading.result import TrainingCurve
from autograder.reports.feedback import HIDDEN_NOTE, image_names, slug, write_feedback

from .factories import HIDDEN_MESSAGE, make_result

LINK = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, str]:
    """Feedback of a submission whose scratch worker timed out, written once for the module."""
    path = write_feedback(make_result(crashed=True), tmp_path_factory.mktemp("feedback") / "alice")
    return path, path.read_text(encoding="utf-8")


def test_writes_markdown_and_deterministic_plot_names(written):
    path, _ = written
    assert path.name == "feedback.md"
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "confusion-scratch.png",  # only the curve with predictions has a confusion matrix
        "curves-frozen-base.png",
        "curves-scratch.png",
        "feedback.md",
    ]


def test_plots_are_valid_images_of_sensible_size(written):
    path, _ = written
    for png in path.parent.glob("*.png"):
        with Image.open(png) as image:
            assert image.format == "PNG"
            width, height = image.size
            image.verify()
        assert 300 <= width <= 2000 and 300 <= height <= 1200, (png.name, image.size)
    with Image.open(path.parent / "curves-scratch.png") as curves:
        assert curves.size[0] > curves.size[1]  # two panels side by side


def test_images_are_linked_relatively(written):
    path, markdown = written
    links = LINK.findall(markdown)
    assert sorted(links) == sorted(p.name for p in path.parent.glob("*.png"))
    for link in links:
        assert not Path(link).is_absolute() and (path.parent / link).is_file()


def test_total_and_every_check_are_listed(written):
    _, markdown = written
    result = make_result(crashed=True)
    assert f"**Total: {result.score:g} / {result.max_score:g} points**" in markdown
    for part in result.parts:
        assert part.title in markdown
        for check in part.checks:
            score = f"| {check.score:g} / {check.max_score:g} |"
            assert any(check.name in line and score in line for line in markdown.splitlines()), check.name


def test_failed_visible_checks_show_their_message(written):
    _, markdown = written
    assert "Expected 3,453,121 parameters. Received: total=3,453,122" in markdown
    assert "Expected the block to return its input at inference." in markdown
    assert "flips are horizontal only | 1 / 1 | passed |  |" in markdown


def test_hidden_check_shows_name_and_score_only(written):
    _, markdown = written
    hidden_row = next(line for line in markdown.splitlines() if "augmented accuracy" in line)
    assert "0.5 / 1" in hidden_row and HIDDEN_NOTE in hidden_row
    assert HIDDEN_MESSAGE not in markdown and "secret threshold" not in markdown


def test_sandbox_outcome_only_when_not_ok(written):
    _, markdown = written
    assert markdown.count("did not finish normally") == 1
    assert "(timeout after 120.0 s). Expected the worker to finish within 120 s." in markdown
    scratch = markdown.split("## Part 2")[1]
    assert "did not finish normally" in scratch


def test_notes_and_accuracy(written):
    _, markdown = written
    assert "- Graded with the smoke profile." in markdown
    assert "Accuracy on the hidden test split: **0.750**" in markdown


def test_rewrite_is_identical(written, tmp_path):
    path, markdown = written
    again = write_feedback(make_result(crashed=True), tmp_path)
    assert again.read_text(encoding="utf-8") == markdown
    for png in path.parent.glob("*.png"):
        assert (tmp_path / png.name).read_bytes() == png.read_bytes()


def test_other_visibilities_can_be_withheld(tmp_path):
    result = make_result()
    result.curves = []
    markdown = write_feedback(result, tmp_path, hidden_visibilities=("hidden", "visible")).read_text()
    assert "Received: total=3,453,122" not in markdown
    assert markdown.count(HIDDEN_NOTE) == 3  # the three checks that did not pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback.md"]


def test_markdown_specials_in_messages_do_not_break_the_table(tmp_path):
    result = make_result()
    result.curves = []
    check = result.parts[1].checks[0]
    result.parts[1].checks[0] = type(check)(**{**check.__dict__, "message": "a | b\n<layer> *x*\n__init__"})
    markdown = write_feedback(result, tmp_path).read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| parameter count"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5
    assert r"a \| b<br>\<layer\> \*x\*<br>\_\_init\_\_" in row


def test_unusable_curves_are_explained_not_fatal(tmp_path):
    result = make_result()
    result.curves = [
        TrainingCurve("scratch", 0.5, {}, [0, 1, 1], [0.2, 0.9]),
        TrainingCurve("Scratch!", 0.5, {"val_loss": [0.7, float("nan"), 0.6]}, [0, 2], [0.1, 0.2]),
    ]
    markdown = write_feedback(result, tmp_path).read_text()
    assert "No training history was recorded for this model." in markdown
    assert "Expected as many predicted probabilities as labels. Received: labels=3, probabilities=2" in markdown
    assert "Expected labels 0 to 1. Received: labels=\\[2\\]" in markdown  # escaped brackets
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves-scratch-2.png", "feedback.md"]


def test_no_pyplot_figures_are_left_open(written):
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


@pytest.mark.parametrize(
    ("name", "expected"), [("frozen base", "frozen-base"), ("Fine-tuned + TTA!", "fine-tuned-tta"), ("***", "model")]
)
def test_slug(name, expected):
    assert slug(name) == expected


def test_image_names_are_distinct():
    curves = [TrainingCurve(name, 0.5) for name in ("a b", "a-b", "A B", "c")]
    assert image_names(curves) == ["a-b", "a-b-2", "a-b-3", "c"]
