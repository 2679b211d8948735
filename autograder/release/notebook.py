"""Build the student notebook from its percent-format source (`# %%` cells), deterministically."""

from __future__ import annotations

import hashlib

import jupytext
import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def build_notebook(source: str) -> nbformat.NotebookNode:
    """Parse percent-format `source` into a notebook with stable cell ids and no outputs."""
    notebook = jupytext.reads(source, fmt="py:percent")
    notebook.metadata = nbformat.from_dict(
        {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    )
    for index, cell in enumerate(notebook.cells):
        digest = hashlib.sha1(f"{index}:{cell.source}".encode()).hexdigest()[:8]
        cell["id"] = f"cell-{index:02d}-{digest}"
        cell.metadata = nbformat.from_dict({})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(notebook)
    return notebook


def notebook_text(source: str) -> str:
    """The notebook as JSON text, ending in a newline."""
    return nbformat.writes(build_notebook(source)) + "\n"
