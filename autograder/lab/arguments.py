"""Off-profile arguments: the values a lab's probes call graded functions with to see that each
function follows its argument (a rate or a dropout that no default or profile uses)."""

from __future__ import annotations

# A rate this far from the profile's is no optimizer's default.
OTHER_RATE_FACTOR = 0.37
OTHER_DROPOUT = (0.13, 0.27)  # the first unless the profile uses it


def other_rate(rate: float) -> float:
    """A learning rate other than the profile's `rate` (and other than any optimizer's default)."""
    return rate * OTHER_RATE_FACTOR


def other_dropout(rate: float) -> float:
    """A dropout rate other than the profile's `rate` (and other than any usual default)."""
    return OTHER_DROPOUT[0] if abs(rate - OTHER_DROPOUT[0]) > 1e-9 else OTHER_DROPOUT[1]
