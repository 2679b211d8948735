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

CLASS_NAMES = ("cat", "dog")  # label 0, label 1
THRESHOLD = 0.5  # a probability >= THRESHOLD predicts "dog"
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
    bad_labels = sorted({label for label in labels if label not in (0, 1)})
    if bad_labels:
        return f"Expected labels 0 (cat) or 1 (dog). Received: labels={bad_labels[:5]}"
    bad = [p for p in probabilities if not (isinstance(p, (int, float)) and math.isfinite(p) and 0 <= p <= 1)]
    if bad:
        return f"Expected probabilities between 0 and 1. Received: probabilities={bad[:5]}"
    return None


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
    """The cat/dog confusion matrix of the curve's predictions on the hidden test split.

    Raises:
        ValueError: when the predictions cannot be used (see `predictions_problem`).
    """
    problem = predictions_problem(curve)
    if problem or not curve.labels:
        raise ValueError(problem or f"Expected predictions for curve {curve.name!r}. Received: labels=[]")
    predicted = [int(p >= THRESHOLD) for p in curve.probabilities]
    matrix = confusion_matrix(curve.labels, predicted, labels=[0, 1])
    figure = Figure(figsize=(4.5, 4), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    display = ConfusionMatrixDisplay(matrix, display_labels=list(CLASS_NAMES))
    display.plot(ax=axes, cmap="Blues", colorbar=False, values_format="d")
    axes.set_title(f"{curve.name} (threshold {THRESHOLD:g})")
    return figure


def save_png(figure: Figure, path: str | os.PathLike) -> Path:
    """Render `figure` as a PNG at `path`, atomically; the bytes depend only on the figure."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    return atomic_write_bytes(path, buffer.getvalue())
