"""A fitted linear classifier as data: exported by the worker, applied by the grader.

The student's function that fits a linear classifier runs in the sandbox on the training features only. What
comes back is not a prediction (the worker never sees the validation or hidden features) but
the classifier itself, as arrays: the affine preprocessing steps of a scikit-learn `Pipeline`
(`StandardScaler`, `MinMaxScaler`, `MaxAbsScaler`), then the final estimator's `coef_`,
`intercept_` and `classes_`. The grader applies them to the features it holds.

For any linear classifier the predicted class is the sign of the decision function
`x @ coef.T + intercept`, whatever link its `predict_proba` uses (logistic, modified Huber...),
so accuracy is computed from the decision function; the probability reported beside it is
the logistic of the decision (for the feedback's plots only).

`export_linear` runs in the worker (duck typing only, no scikit-learn import needed);
`read_linear` and `decision_function` run in the grader on what came back, as hostile data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

MAX_FEATURES = 1 << 16
# Affine steps a Pipeline may hold before its classifier: name -> the attributes exported.
SCALERS = {
    "StandardScaler": ("mean_", "scale_"),
    "MinMaxScaler": ("scale_", "min_"),
    "MaxAbsScaler": ("scale_",),
}


class LinearExportError(ValueError):
    """A classifier that cannot be exported, or exported arrays the grader refuses."""


def _steps(classifier) -> list:
    steps = getattr(classifier, "steps", None)
    if steps is None:
        return [classifier]
    return [step[1] if isinstance(step, tuple) else step for step in steps if step is not None and step != "passthrough"]


def export_linear(classifier) -> dict[str, np.ndarray]:
    """The arrays of a fitted linear classifier (or a Pipeline of scalers and one), for `np.savez`.

    Raises:
        LinearExportError: when it is not a fitted linear classifier with `coef_`, `intercept_`
            and `classes_`, or a Pipeline step is not one of `SCALERS`.
    """
    *transforms, final = _steps(classifier)
    arrays: dict[str, np.ndarray] = {}
    kinds = []
    for i, step in enumerate(transforms):
        kind = type(step).__name__
        if kind not in SCALERS:
            raise LinearExportError(
                f"Expected the Pipeline's steps before the classifier to be one of {sorted(SCALERS)}. Received: {kind}"
            )
        kinds.append(kind)
        for attribute in SCALERS[kind]:
            value = getattr(step, attribute, None)
            arrays[f"step{i}_{attribute}"] = np.ones(1) if value is None and attribute == "scale_" else np.asarray(value, "float64")
    missing = [a for a in ("coef_", "intercept_", "classes_") if getattr(final, a, None) is None]
    if missing:
        raise LinearExportError(
            "Expected a fitted linear classifier (with coef_, intercept_ and classes_, e.g. a LogisticRegression). "
            f"Received: {type(final).__name__} without {', '.join(missing)}"
        )
    arrays["coef"] = np.asarray(final.coef_, "float64")
    arrays["intercept"] = np.asarray(final.intercept_, "float64").reshape(-1)
    arrays["classes"] = np.asarray(final.classes_, "float64")
    arrays["steps"] = np.asarray(kinds if kinds else [""], dtype="U32")
    return arrays


def read_linear(arrays: Mapping[str, np.ndarray], n_features: int) -> dict[str, object]:
    """Validate exported arrays (shapes, finite values, known steps) for `n_features` inputs.

    Raises:
        LinearExportError: naming what is wrong.
    """

    def get(key: str, kind: str = "f") -> np.ndarray:
        if key not in arrays:
            raise LinearExportError(f"Expected the exported classifier to hold `{key}`. Received: {sorted(arrays)[:10]}")
        value = np.asarray(arrays[key])
        if kind == "f":
            if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value)):
                raise LinearExportError(f"Expected `{key}` to hold finite numbers. Received: dtype={value.dtype}")
            value = value.astype("float64")
        return value

    if not 0 < n_features <= MAX_FEATURES:
        raise LinearExportError(f"Expected 1 to {MAX_FEATURES} features. Received: {n_features}")
    kinds = [str(k) for k in np.asarray(arrays.get("steps", np.asarray([""]))).reshape(-1) if str(k)]
    steps = []
    for i, kind in enumerate(kinds):
        if kind not in SCALERS:
            raise LinearExportError(f"Expected Pipeline steps from {sorted(SCALERS)}. Received: {kind!r}")
        values = {}
        for attribute in SCALERS[kind]:
            value = get(f"step{i}_{attribute}").reshape(-1)
            if value.shape not in ((1,), (n_features,)):
                raise LinearExportError(f"Expected {kind}.{attribute} of {n_features} values. Received: shape={value.shape}")
            values[attribute] = value
        steps.append((kind, values))
    coef, intercept, classes = get("coef"), get("intercept").reshape(-1), get("classes").reshape(-1)
    if coef.ndim == 1:
        coef = coef[None, :]
    if coef.ndim != 2 or coef.shape[1] != n_features or coef.shape[0] != intercept.shape[0]:
        raise LinearExportError(
            f"Expected coef_ of shape (1, {n_features}) and one intercept. Received: coef {coef.shape}, intercept {intercept.shape}"
        )
    if coef.shape[0] == 1 and classes.shape != (2,):
        raise LinearExportError(f"Expected two classes for one row of coef_. Received: classes_={classes.tolist()[:10]}")
    if coef.shape[0] > 1 and classes.shape != (coef.shape[0],):
        raise LinearExportError(f"Expected one class per row of coef_. Received: {coef.shape[0]} rows, classes_={classes.tolist()[:10]}")
    return {"steps": steps, "coef": coef, "intercept": intercept, "classes": classes}


def decision_function(linear: Mapping[str, object], features: np.ndarray) -> np.ndarray:
    """(N, k) decision values of the exported classifier on `features` (k = 1 for two classes)."""
    x = np.asarray(features, "float64")
    for kind, values in linear["steps"]:
        if kind == "StandardScaler":
            scale = np.where(values["scale_"] == 0, 1.0, values["scale_"])
            x = (x - values["mean_"]) / scale
        elif kind == "MinMaxScaler":
            x = x * values["scale_"] + values["min_"]
        elif kind == "MaxAbsScaler":
            x = x / np.where(values["scale_"] == 0, 1.0, values["scale_"])
    return x @ np.asarray(linear["coef"]).T + np.asarray(linear["intercept"])


def predict_positive(linear: Mapping[str, object], features: np.ndarray, positive=1) -> tuple[np.ndarray, np.ndarray]:
    """(predicted positive?, P(positive) as the logistic of the decision) for a two-class classifier."""
    decision = decision_function(linear, features)
    classes = np.asarray(linear["classes"])
    if decision.shape[1] == 1:
        score = decision[:, 0] if classes[1] == positive else -decision[:, 0]
    else:  # one row per class (multinomial): the positive class's margin over the best other
        index = int(np.flatnonzero(classes == positive)[0]) if np.any(classes == positive) else -1
        if index < 0:
            return np.zeros(len(decision), bool), np.zeros(len(decision))
        others = np.delete(decision, index, axis=1).max(axis=1)
        score = decision[:, index] - others
    return score >= 0, 1.0 / (1.0 + np.exp(-np.clip(score, -60, 60)))
