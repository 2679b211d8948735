"""`course export`: the autograder for the platforms courses already grade on.

One module per platform, each with `export(ctx, out, profile, with_data) -> next steps`:

- `gradescope`: the autograder zip (`setup.sh`, `run_autograder`, requirements, the bundle).
- `otter`: an otter-grader assignment (student notebook, otter test files, autograder zip).
- `nbgrader`: an nbgrader course directory (`nbgrader_config.py`, `source/<lab>/lab.ipynb`).

Everything is generated from the single source (`solutions/`, its checks and calibrations,
`course.yaml`); `main(..., check=True)` regenerates an export in a temporary folder and lists
how the one on disk differs, so a stale export is caught like a stale release.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

from autograder.context import CourseContext
from autograder.export.archive import folder_drift
from autograder.export.errors import ExportError

__all__ = ["PLATFORMS", "ExportError", "main"]


# Platform -> the module that exports it. Each has `export(ctx, out, profile, with_data)` and
# `OWNED`, the paths under `out` the export writes ("{lab}" stands for the lab's name).
PLATFORMS = {
    "gradescope": "autograder.export.gradescope",
    "otter": "autograder.export.otter",
    "nbgrader": "autograder.export.nbgrader",
}
# Whether an export bundles the data and weights unless told: Gradescope (directly or through
# otter) grades in an image of its own; nbgrader grades on the instructor's machine.
BUNDLES_DATA = {"gradescope": True, "otter": True, "nbgrader": False}


def main(
    ctx: CourseContext, platform: str, out: Path, profile: str | None = None, with_data: bool | None = None,
    check: bool = False,
) -> list[str]:
    """Export the autograder for `platform` into `out`, or with `check` compare `out` with a fresh export.

    Args:
        ctx: the course.
        platform: "gradescope", "otter" or "nbgrader".
        out: the folder to write (or, with `check`, to compare).
        profile: the profile whose calibrated thresholds grade (default: the course's default).
        with_data: bundle the data and weights (default: `BUNDLES_DATA[platform]`).
        check: compare instead of writing.

    Returns:
        Without `check`: what the instructor does next. With `check`: the drift found (empty: none).

    Raises:
        ExportError: an unknown platform, or a source that cannot be exported.
    """
    if platform not in PLATFORMS:
        raise ExportError(f"Expected a platform among {sorted(PLATFORMS)}. Received: platform={platform!r}")
    profile = profile or ctx.config.default_profile
    with_data = BUNDLES_DATA[platform] if with_data is None else with_data
    module = importlib.import_module(PLATFORMS[platform])
    if not check:
        return module.export(ctx, Path(out), profile, with_data)
    owned = [path.format(lab=ctx.config.course.lab) for path in module.OWNED]
    with tempfile.TemporaryDirectory(prefix=f"course-export-{platform}-") as fresh:
        module.export(ctx, Path(fresh), profile, with_data)
        return folder_drift(Path(fresh), Path(out), owned)
