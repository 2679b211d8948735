"""What the grader and a sandboxed worker exchange: a request file in, artifacts and a report out.

Only data crosses: JSON, `.npz` arrays (no pickles) and `.keras` models (loaded in safe mode).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

REQUEST = "request.json"
REPORT = "probes.json"


@dataclass(frozen=True)
class ProbeRequest:
    """One part of one submission to probe.

    Attributes:
        part: the part's name (augmentation, scratch, feature_extraction, fine_tuning).
        module: the student's module file for that part.
        inputs: a folder of grader-made inputs (arrays, models, weights) the worker may read.
        out: the folder where the worker writes its artifacts and report.
        settings: profile values the probes need (sizes, alpha, dropout, learning rates...).
        probes: the names of the part's probes to run, in the part's order (None: all).
        probes_file: the lab's probes (`probes.py`, declared with `@probe`).
    """

    part: str
    module: str
    inputs: str
    out: str
    settings: dict = field(default_factory=dict)
    probes: list[str] | None = None
    probes_file: str = ""

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ProbeRequest:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass
class ProbeOutcome:
    """What one probe did: ok, or the error (type, message, trimmed traceback) that stopped it."""

    name: str
    ok: bool
    seconds: float = 0.0
    error: str | None = None
    details: dict = field(default_factory=dict)
