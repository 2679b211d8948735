"""An otter-grader plugin that grades with `course grade`, in otter's grading process, not in the kernel.

Otter grades by running the submitted notebook in a kernel with its test files: any student cell
could change what a test computes, write a results file, or (run as otter's user) rewrite the
grader itself. This plugin takes the grading out of the kernel and the student's code out of it:

- `before_grading` (before otter reads anything the submission brought): refuses a submission that
  is not a notebook, and removes every other file the submission brought into its folder (an
  `.otter_log` that otter would unpickle, a `course/` bundle, an `otter.py` or `autograder/` that
  the kernel would import from its working folder). It then grades the notebook with the
  sandboxed `course grade`, from the bundle otter unpacked (`source/files/course`), and keeps the
  result in memory.
- `before_execution` hands otter a notebook with no cell at all: the kernel runs only otter's
  own cells and the test files.
- `after_grading` sets every part's test file to the part's `course grade` score (partial credit
  included): zero for a part the grading did not reach. The test files' hidden cases themselves
  fail in the kernel, so an autograder without this plugin scores zero.

Listed in the exported `otter_config.json` with its profile. What is left to the kernel (the
public `check_part` cases, worth nothing) reads the notebook with `ast` only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin

BUNDLE = "course"
KEPT = {"tests", "__init__.py"}  # what otter itself puts beside the submission


class OtterPartScores(AbstractOtterPlugin):
    """Give each part the score `course grade` gives it; run no student code in otter's kernel."""

    result = None
    failure = ""

    def _folder(self) -> Path:
        return Path(self.submission_path).resolve().parent

    def bundle(self) -> Path:
        """The bundle otter unpacked from the autograder zip: `<autograder>/source/files/course`."""
        configured = (self.plugin_config or {}).get("bundle")
        return Path(configured) if configured else self._folder().parent / "source" / "files" / BUNDLE

    def before_grading(self, config) -> None:
        from autograder.export.runtime import GradingFailed, grade_notebook  # noqa: PLC0415

        path = Path(self.submission_path)
        if path.suffix != ".ipynb":
            raise ValueError(f"Expected a Jupyter notebook (lab.ipynb). Received: {path.name}")
        for entry in list(self._folder().iterdir()):
            if entry.name in KEPT or entry.resolve() == path.resolve():
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        profile = (self.plugin_config or {}).get("profile")
        if not profile:
            raise ValueError("Expected the plugin's profile in otter_config.json. Received: none")
        if not (self.bundle() / "course.yaml").is_file():  # never a course.yaml found elsewhere
            self.failure = f"Expected the course bundle at {self.bundle()}. Received: no course.yaml there"
            return
        try:
            self.result = grade_notebook(profile, notebook=path, bundle=str(self.bundle()))
        except GradingFailed as exc:
            self.failure = str(exc)

    def before_execution(self, submission):
        empty = nbformat.v4.new_notebook()
        if isinstance(submission, nbformat.NotebookNode):
            empty.metadata = submission.metadata
        return empty

    def after_grading(self, results) -> None:
        from autograder.reports.feedback import student_text  # noqa: PLC0415

        parts = {part.part: part for part in self.result.parts} if self.result is not None else {}
        for name, test in results.results.items():
            found = parts.get(name)
            score = 0.0 if found is None else max(0.0, min(float(found.score), test.possible))
            results.update_score(name, score)
        if self.failure:
            results.set_output("The course autograder could not grade this notebook: " + student_text(self.failure))
