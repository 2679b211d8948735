"""Every export as safe as `course grade`: nothing a student's kernel does reaches the score.

The nbgrader attack: a submitted notebook whose cells patch `autograder.export.runtime.grade_part`,
replace the module in `sys.modules` and patch builtins (what a test cell run in the same kernel
would use) scores what the same notebook without them scores, and none of its cells runs at
`nbgrader autograde` (the grading is `course grade` of the notebook, sandboxed). The graded
notebooks come from the one `nbgrader autograde` run of `tests/export/test_nbgrader.py`.
"""

from __future__ import annotations

import pytest

from tests.export.test_nbgrader import attack_marker, course, gradebook_scores  # noqa: F401  (fixtures)


@pytest.mark.slow
def test_nbgrader_kernel_patches_gain_nothing(gradebook_scores):
    assert gradebook_scores["attacker"] == gradebook_scores["stub"]
    assert all(score == 0.0 for score in gradebook_scores["attacker"].values())


@pytest.mark.slow
def test_nbgrader_autograde_runs_no_student_cell(gradebook_scores, attack_marker):
    assert not attack_marker.exists()
