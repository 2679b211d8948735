"""Plots for feedback: training curves and the cat/dog confusion matrix of a grader-trained model.

Figures are built with `matplotlib.figure.Figure` and rendered by the Agg canvas, never
through `pyplot`, so drawing them changes no global matplotlib state (backend, open figures)
and works on a headless grading machine.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

from autograder.grading.result import TrainingCurve
from autograder.reports.atomic import atomic_write_bytes

THRESHOLD = 0.5  # one probability per image: >= THRESHOLD predicts class 1
DPI = 100

# (panel title, training key, validation key)
PANELS = (("Accuracy", "accuracy", "val_accuracy"), ("Loss", "loss", "val_loss"))


def has_history(curve: TrainingCurve) -> bool:
    """True when the curve recorded at least one epoch of accuracy or loss."""
    return any(curve.history.get(key) for _, train, val in PANELS for key in (train, val))


def predictions_problem(curve: TrainingCurve) -> str | None:
    """Why the curve's predictions cannot make a confusion matrix, or None when they can.

    Returns None also for a curve without predictions at all; use `has_predictions` first.
    """
    labels, probabilities = curve.labels, curve.probabilities
    if len(labels) != len(probabilities):
        return (
            "Expected as many predicted probabilities as labels. "
            f"Received: labels={len(labels)}, probabilities={len(probabilities)}"
        )
    rows = [p for p in probabilities if isinstance(p, (list, tuple))]
    if rows and len(rows) != len(probabilities):
        return "Expected one probability per image or one row of class probabilities per image. Received: both"
    count = len(rows[0]) if rows else 2
    if rows and (count < 2 or any(len(row) != count for row in rows)):
        return f"Expected rows of the same number (2 or more) of class probabilities. Received: lengths {sorted({len(r) for r in rows})[:5]}"
    bad_labels = sorted({label for label in labels if not isinstance(label, int) or not 0 <= label < count})
    if bad_labels:
        names = f" ({', '.join(f'{i} {n}' for i, n in enumerate(curve.classes))})" if len(curve.classes) == count else ""
        return f"Expected labels 0 to {count - 1}{names}. Received: labels={bad_labels[:5]}"
    values = [v for row in rows for v in row] if rows else probabilities
    bad = [p for p in values if not (isinstance(p, (int, float)) and math.isfinite(p) and 0 <= p <= 1)]
    if bad:
        return f"Expected probabilities between 0 and 1. Received: probabilities={bad[:5]}"
    return None


def predicted_classes(curve: TrainingCurve) -> list[int]:
    """Each image's predicted class: the most probable class, or P(class 1) >= THRESHOLD for one probability."""
    if curve.probabilities and isinstance(curve.probabilities[0], (list, tuple)):
        return [max(range(len(row)), key=row.__getitem__) for row in curve.probabilities]
    return [int(p >= THRESHOLD) for p in curve.probabilities]


def has_predictions(curve: TrainingCurve) -> bool:
    """True when the curve carries labels or predicted probabilities of the hidden test split."""
    return bool(curve.labels or curve.probabilities)


def training_curves_figure(curve: TrainingCurve) -> Figure:
    """Accuracy and loss per epoch, training against validation, side by side."""
    figure = Figure(figsize=(10, 4), dpi=DPI, layout="constrained")
    figure.suptitle(f"{curve.name}: hidden-test accuracy {curve.accuracy:.3f}")
    for axes, (title, train_key, val_key) in zip(figure.subplots(1, 2), PANELS, strict=True):
        for key, label, style in ((train_key, "training", "o-"), (val_key, "validation", "s--")):
            values = curve.history.get(key) or []
            if values:
                axes.plot(range(1, len(values) + 1), values, style, label=label, markersize=3)
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
            axes.xaxis.get_major_locator().set_params(integer=True)
        else:
            axes.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=axes.transAxes)
    return figure


def confusion_matrix_figure(curve: TrainingCurve) -> Figure:
    """The confusion matrix of the curve's predictions on the hidden test split (classes named by `curve.classes`).

    Raises:
        ValueError: when the predictions cannot be used (see `predictions_problem`).
    """
    problem = predictions_problem(curve)
    if problem or not curve.labels:
        raise ValueError(problem or f"Expected predictions for curve {curve.name!r}. Received: labels=[]")
    rows = bool(curve.probabilities) and isinstance(curve.probabilities[0], (list, tuple))
    count = len(curve.probabilities[0]) if rows else 2
    classes = list(range(count))
    matrix = confusion_matrix(curve.labels, predicted_classes(curve), labels=classes)
    names = list(curve.classes) if len(curve.classes) == count else [str(c) for c in classes]
    side = 4.5 if count <= 3 else min(12.0, 1.5 + 0.6 * count)
    figure = Figure(figsize=(side, side * 0.9), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    display = ConfusionMatrixDisplay(matrix, display_labels=names)
    display.plot(ax=axes, cmap="Blues", colorbar=False, values_format="d")
    axes.set_title(f"{curve.name} (most probable class)" if rows else f"{curve.name} (threshold {THRESHOLD:g})")
    return figure


def save_png(figure: Figure, path: str | os.PathLike) -> Path:
    """Render `figure` as a PNG at `path`, atomically; the bytes depend only on the figure."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    return atomic_write_bytes(path, buffer.getvalue())
