"""An otter-grader plugin that gives each part its exact `course grade` score (partial credit).

Otter scores a test case all or nothing. The hidden case of each part's test file
(`runtime.otter_case`) leaves the part's real score in `.course-grading.json` beside the
submission; after grading, this plugin sets each part's test file to that score. The file is
removed before grading starts, so a submission cannot bring its own. Listed in the exported
`otter_config.json` as `autograder.export.otter_plugin.OtterPartScores`.
"""

from __future__ import annotations

import json
from pathlib import Path

from otter.plugins import AbstractOtterPlugin

from autograder.export.runtime import HANDOFF


class OtterPartScores(AbstractOtterPlugin):
    """Set each part's otter score to the score `course grade` gave it."""

    def _handoff(self) -> Path:
        return Path(self.submission_path).resolve().parent / HANDOFF

    def before_grading(self, config) -> None:
        self._handoff().unlink(missing_ok=True)

    def after_grading(self, results) -> None:
        path = self._handoff()
        if not path.is_file():
            return
        scores = json.loads(path.read_text(encoding="utf-8"))
        for part, entry in scores.items():
            if part in results.results:
                possible = results.results[part].possible
                results.update_score(part, max(0.0, min(float(entry["score"]), possible)))
        path.unlink(missing_ok=True)
