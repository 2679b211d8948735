"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from autograder.training.pipeline import RunResult

# Published numbers for the same task with 2,000 training images.
PUBLISHED = {
    "scratch": ("0.71", "Chollet, DLwP 1st ed. (30 epochs)"),
    "scratch_augmented": ("0.82", "Chollet, DLwP 1st ed. (100 epochs)"),
    "linear_classifier": ("0.90", "Chollet: frozen VGG16 features + dense"),
    "frozen_base": ("0.96 / 0.94", "Chollet VGG16 + aug / TF MobileNetV2 tutorial"),
    "fine_tuned": ("0.97 / 0.98", "Chollet VGG16 / TF MobileNetV2 tutorial"),
    "fine_tuned_tta": ("-", "no published number"),
}

LABELS = {
    "scratch": "Scratch convnet, no augmentation",
    "scratch_augmented": "Scratch convnet, augmentation + dropout",
    "linear_classifier": "Frozen features + linear classifier",
    "frozen_base": "Frozen base + head (augmented)",
    "fine_tuned": "Fine-tuned top of the base",
    "fine_tuned_tta": "Fine-tuned + ten-crop TTA",
}


def reference_table(results: Iterable[RunResult], title: str) -> Table:
    """One row per trained variant: accuracy on the hidden test split, time, published number."""
    table = Table(title=title)
    table.add_column("Part")
    table.add_column("Hidden-test accuracy", justify="right")
    table.add_column("Time (s)", justify="right")
    table.add_column("Published", justify="right")
    table.add_column("Source of the published number")
    for result in results:
        published, source = PUBLISHED.get(result.name, ("-", ""))
        table.add_row(
            LABELS.get(result.name, result.name), f"{result.accuracy:.3f}", f"{result.seconds:.1f}", published, source
        )
    return table
