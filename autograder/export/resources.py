"""What grading one submission needs, as measured by `benchmarks/grading_resources.py`.

The measurement lives with the lab (`solutions/<lab>/resources/<profile>.json`: wall seconds and
the peak resident memory of the grader with its workers, the machine and the date), and the
platform exports print it as the machine to ask for: memory with a quarter of headroom, and a
timeout of twice the measured time (platform CPUs are often slower and fewer).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

RESOURCES = "resources"


@dataclass(frozen=True)
class Resources:
    profile: str
    seconds: float
    peak_gib: float
    machine: str
    date: str

    @property
    def memory_gib(self) -> float:
        """Memory to ask for: the peak plus a quarter, rounded up to half a GiB."""
        return math.ceil(self.peak_gib * 1.25 * 2) / 2

    @property
    def timeout_minutes(self) -> int:
        return max(1, math.ceil(2 * self.seconds / 60))

    def advice(self) -> str:
        return (
            f"Measured on {self.machine} ({self.date}): one submission on {self.profile!r} takes {self.seconds:.0f} s "
            f"and peaks at {self.peak_gib:.1f} GiB. Ask for at least {self.memory_gib:g} GiB of memory and an "
            f"autograder timeout of at least {self.timeout_minutes} minutes (Gradescope: Autograder settings)."
        )


def read_resources(solutions: Path, profile: str) -> Resources | None:
    """The lab's measurement for `profile`, or None when it was never measured."""
    path = Path(solutions) / RESOURCES / f"{profile}.json"
    if not path.is_file():
        return None
    try:
        return Resources(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: expected the fields of a resources measurement. Received: {exc}") from None


def resources_line(solutions: Path, profile: str) -> str:
    """What the export prints about the machine a platform must give the grader."""
    measured = read_resources(solutions, profile)
    if measured is None:
        return (
            f"Resources for profile {profile!r} were never measured: run "
            f"`python benchmarks/grading_resources.py --profile {profile}` to know the memory and time to ask for."
        )
    return measured.advice()
