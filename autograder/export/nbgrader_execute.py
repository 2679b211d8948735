"""What `nbgrader autograde` runs in place of nbgrader's `Execute`: `course grade`, and no kernel.

nbgrader's `Execute` runs the submitted notebook in a kernel, and scores a test cell by its
output: a student cell run in that kernel could change what any later cell computes (replace
`grade_part`, patch builtins or `sys.modules`, print a number). `GradeWithCourse` runs no cell.
It writes the notebook nbgrader has just sanitized (outputs cleared, the locked and test cells put
back from the source) to a scratch folder, grades it with the sandboxed `course grade` in a
subprocess, exactly as a `lab.ipynb` submission is graded (the graded functions are read from
the code cells with `ast`; nothing else in the notebook is run anywhere), and writes each part's
score as its test cell's output, which nbgrader's own `SaveAutoGrades` turns into the grade.

The exported `nbgrader_config.py` puts `GradeWithCourse` in place of `Execute`. The test cells
themselves raise when run in a kernel, so a configuration without it scores zero, never full marks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Unicode

NOT_GRADED_TAG = "course-not-graded"
TEST_PREFIX = "test_"


def part_of(cell) -> str | None:
    """The part a test cell grades (its grade id is `test_<part>`), or None."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    return grade_id[len(TEST_PREFIX):] if grade_id.startswith(TEST_PREFIX) else None


class GradeWithCourse(NbGraderPreprocessor):
    """Score every test cell with `course grade` of the notebook; execute no cell."""

    profile = Unicode("", help="The profile whose calibrated thresholds grade.").tag(config=True)
    config_file = Unicode("", help="The grader's course.yaml (the exported bundle's).").tag(config=True)

    def preprocess(self, nb, resources):
        from autograder.export.runtime import grade_notebook, part_report  # noqa: PLC0415

        if not self.profile:
            raise ValueError("Expected c.GradeWithCourse.profile in nbgrader_config.py. Received: none")
        bundle = str(Path(self.config_file).parent) if self.config_file else None
        with tempfile.TemporaryDirectory(prefix="course-nbgrader-") as scratch:
            path = Path(scratch) / "lab.ipynb"
            nbformat.write(nb, str(path))
            result = grade_notebook(self.profile, notebook=path, bundle=bundle)
        parts = {part.part: part for part in result.parts}
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell):
                continue
            found = parts.get(part_of(cell))
            if found is None:
                cell.outputs = [nbformat.v4.new_output("error", ename="NotGraded", evalue="no such part", traceback=[])]
                continue
            score = min(found.score, found.max_score, float(cell.metadata["nbgrader"].get("points", found.max_score)))
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=part_report(found) + "\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": repr(round(score, 4))}, execution_count=None),
            ]
        return nb, resources
