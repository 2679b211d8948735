"""nbgrader's `Execute`, minus the cells the autograder has no use for.

The exported notebook tags its experiment cells (training runs, plots) and the students' own
check cells `course-not-graded`: the grader trains the submitted functions itself, so running
the student's experiments during `nbgrader autograde` would only cost time. The exported
`nbgrader_config.py` puts this preprocessor in place of `Execute`.
"""

from __future__ import annotations

from nbgrader.preprocessors import Execute

NOT_GRADED_TAG = "course-not-graded"


class ExecuteGradedCells(Execute):
    """Execute every cell except those tagged `course-not-graded` (left as they are)."""

    def preprocess_cell(self, cell, resources, index):
        if NOT_GRADED_TAG in cell.get("metadata", {}).get("tags", []):
            return cell, resources
        return super().preprocess_cell(cell, resources, index)
