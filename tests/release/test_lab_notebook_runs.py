"""The transfer-learning notebook runs top to bottom on the solutions, on the grader's `smoke` budget."""

from __future__ import annotations

import re
import shutil

import pytest

pytestmark = pytest.mark.heavy(seconds=90)


@pytest.mark.slow
def test_the_notebook_runs_from_the_release_with_the_solutions(ctx, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from autograder.student import lab_runs

    work = tmp_path / "assignments" / ctx.lab
    shutil.copytree(ctx.release_dir, work)
    for spec in ctx.config.parts.values():  # a student who wrote every function
        shutil.copy(ctx.solutions_dir / spec.module, work / spec.module)
    monkeypatch.setenv("COURSE_CONFIG", str(ctx.config_path))
    monkeypatch.setenv("COURSE_LAB", ctx.lab)
    notebook = nbformat.read(work / "lab.ipynb", as_version=4)
    assert any("%autoreload 2" in cell.source for cell in notebook.cells if cell.cell_type == "code")
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()

    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "Profile 'smoke'" in text and "identity at inference: True" in text
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 4  # the data, augmentation, scratch curves, the frozen run continued by fine-tuning
    (table,) = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    mine = {}
    for run in lab_runs(ctx.lab):  # every run of the lab's definition, beside its published number
        row = next(line for line in table.splitlines() if line.startswith(f"| {run['label']} |"))
        assert f"| {run['published']} |" in row
        mine[run["name"]] = float(re.split(r"\s*\|\s*", row)[2])
    # It really trained, on the grader's budget: the pretrained runs are far above chance.
    assert mine["frozen_base"] > 0.75 and mine["fine_tuned"] > 0.75 and mine["linear_classifier"] > 0.75, mine
