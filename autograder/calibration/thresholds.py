"""Accuracy thresholds derived from the reference solution's spread over seeds.

threshold = min(mean - k * std - sampling margin, worst seed), so the reference passes on every
calibration seed; floor = threshold - band, below which an accuracy earns nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

STD_MULTIPLIER = 3.0
BAND = 0.10  # partial credit from threshold - BAND up to threshold


@dataclass(frozen=True)
class Threshold:
    """One graded accuracy: what the reference reached and what a submission must reach."""

    accuracies: tuple[float, ...]
    mean: float
    std: float
    threshold: float
    floor: float
    test_images: int


@dataclass
class Calibration:
    """A profile's thresholds and where they were measured."""

    profile: str
    profile_digest: str
    seeds: list[int]
    thresholds: dict[str, Threshold]
    hardware: str
    backend: str
    date: str
    notes: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        raw = json.loads(text)
        raw["thresholds"] = {
            name: Threshold(**{**value, "accuracies": tuple(value["accuracies"])})
            for name, value in raw["thresholds"].items()
        }
        return cls(**raw)

    @classmethod
    def read(cls, path: Path) -> Calibration:
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"No calibration at {path}. Run `course calibrate --profile {Path(path).stem}` first."
            )
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def derive_threshold(accuracies: list[float], test_images: int) -> Threshold:
    """Threshold from the reference's accuracies over seeds on a test split of `test_images`.

    The margin is k standard deviations of the seeds, but never less than two binomial standard
    errors of the test split, so a deterministic part (zero spread) still leaves room for a
    correct submission that differs in harmless details.
    """
    if not accuracies:
        raise ValueError("Expected at least one accuracy to calibrate from. Received: []")
    n = len(accuracies)
    mean = sum(accuracies) / n
    std = math.sqrt(sum((a - mean) ** 2 for a in accuracies) / (n - 1)) if n > 1 else 0.0
    sampling = 2 * math.sqrt(max(mean * (1 - mean), 1e-4) / test_images)
    threshold = min(mean - max(STD_MULTIPLIER * std, sampling), min(accuracies))
    threshold = round(max(threshold, 0.5), 4)
    floor = round(max(threshold - BAND, 0.5), 4)
    return Threshold(tuple(round(a, 4) for a in accuracies), round(mean, 4), round(std, 4), threshold, floor, test_images)
