"""`course release`: generate (or verify) the student release from the solutions."""

from __future__ import annotations

from pathlib import Path

from autograder.context import CourseContext
from autograder.release.build import ReleaseError, build_release, release_drift, write_release
from autograder.release.markers import MarkerError, strip_solutions

__all__ = ["MarkerError", "ReleaseError", "build_release", "main", "release_drift", "strip_solutions", "write_release"]


def main(ctx: CourseContext, check: bool = False, kit_dir: Path | None = None) -> list[str]:
    """Write the release (and, given `kit_dir`, the student kit there), or with `check` only
    compare it; return the drift found (empty: none)."""
    files = build_release(ctx.solutions_dir, ctx.config)
    if check:
        return release_drift(files, ctx.release_dir)
    if kit_dir is not None:
        from autograder.release.kit import write_kit  # noqa: PLC0415

        write_kit(ctx, files, kit_dir)  # first: a kit that would leak leaves the release untouched too
    write_release(files, ctx.release_dir)
    return []
