"""Trainability by behaviour: run a few real training steps and see which weights moved.

Flags can lie. In Keras 3 with the TensorFlow backend, `fit` traces a train function once and
keeps it until `compile` is called again; that function updates the variables that were
trainable when it was traced. A model whose `trainable` flags were changed after it had trained,
without compiling again, keeps training the old set: a layer that says `trainable=False` still
moves (and a layer just unfrozen does not). So the grader runs a few steps of the model *as
compiled* (never recompiling it) and compares every weight, BatchNormalization moving
statistics included, before and after.

`run_training_probe` runs where the live model is (it returns plain arrays and strings);
`check_frozen_by_behaviour` judges that data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from autograder.checks._layers import to_numpy, variable_keys, variable_owners
from autograder.checks.result import CheckResult, failed, passed

MAX_LISTED = 5
ROLES = ("trainable", "frozen", "state")
STALE_HINT = (
    "This is what happens when `trainable` is changed after the model was compiled and trained, "
    "and the model is not compiled again."
)


@dataclass(frozen=True)
class ProbedVariable:
    """One variable before and after the probe's training steps.

    `role` is what the model's own flags say: "trainable" (it should be updated), "frozen" (its
    layer has `trainable=False`, so it must not change, BatchNormalization moving statistics
    included) or "state" (a non-trainable variable of a trainable layer, such as the moving
    statistics of a BatchNormalization layer that is allowed to train; not judged).
    """

    key: str
    layer: str
    kind: str
    role: str
    before: np.ndarray
    after: np.ndarray

    @property
    def moved(self) -> bool:
        """True unless the values are bit-identical (NaNs in the same places count as equal)."""
        return not np.array_equal(self.before, self.after, equal_nan=True)

    @property
    def max_change(self) -> float:
        """The largest absolute change of one element."""
        if self.before.size == 0:
            return 0.0
        return float(np.nanmax(np.abs(self.after.astype("float64") - self.before.astype("float64"))))


@dataclass(frozen=True)
class TrainingProbe:
    """What `run_training_probe` saw: every weight before and after, or the error that stopped it."""

    variables: tuple[ProbedVariable, ...]
    steps: int
    error: str | None = None

    @property
    def before(self) -> dict[str, np.ndarray]:
        """Values before training, keyed by variable path, in `model.weights` order."""
        return {v.key: v.before for v in self.variables}

    @property
    def after(self) -> dict[str, np.ndarray]:
        """Values after training, keyed by variable path, in `model.weights` order."""
        return {v.key: v.after for v in self.variables}


def variable_roles(model: keras.Model) -> list[tuple[str, str, str, str]]:
    """(key, layer path, layer kind, role) for every variable of `model`, in `model.weights` order.

    See `ProbedVariable` for the roles. The role follows the model's flags as they are now.
    """
    owners = variable_owners(model)
    rows = []
    for key, variable in zip(variable_keys(model.weights), model.weights):
        owner = owners.get(id(variable))
        layer = owner.layer if owner is not None else model
        if variable.trainable:
            role = "trainable"
        elif not layer.trainable:
            role = "frozen"
        else:
            role = "state"
        rows.append((key, owner.path if owner else model.name, type(layer).__name__, role))
    return rows


def run_training_probe(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    steps: int = 2,
    batch_size: int | None = None,
    restore: bool = True,
) -> TrainingProbe:
    """Run `steps` real training steps of `model` as compiled and record every weight.

    The model is trained with `model.fit` (the way the grader trains it, so a train function
    kept from earlier training is reused, exactly as it would be), on float32 copies of `x` and
    `y`, without shuffling. It is never compiled here. An error raised by training (for example
    an optimizer built for other variables) is recorded, not raised.

    Args:
        model: a compiled Keras model.
        x: inputs; at least `steps * batch_size` samples.
        y: targets.
        steps: how many optimizer steps to run.
        batch_size: samples per step; defaults to `len(x) // steps`.
        restore: put the weights back afterwards (the optimizer's state still advanced).

    Returns:
        A `TrainingProbe` with every variable's role, value before and value after.

    Raises:
        ValueError: fewer than `steps * batch_size` samples, or `steps` < 1.
    """
    x, y = np.asarray(x, dtype="float32"), np.asarray(y, dtype="float32")
    if steps < 1:
        raise ValueError(f"Expected steps >= 1. Received: steps={steps}")
    batch_size = batch_size or len(x) // steps
    if batch_size < 1 or len(x) < steps * batch_size:
        raise ValueError(
            f"Expected at least steps * batch_size = {steps} * {batch_size} samples. Received: len(x)={len(x)}"
        )
    roles = variable_roles(model)
    variables = list(model.weights)
    before = [to_numpy(v) for v in variables]
    error = None
    if not getattr(model, "compiled", False):
        error = f"Expected a compiled model. Received: `{model.name}` was never compiled"
    else:
        n = steps * batch_size
        try:
            model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        except Exception as exc:  # noqa: BLE001 - the submission's model failing to train is a result
            error = f"{type(exc).__name__}: {exc}"
    after = [to_numpy(v) for v in variables]
    if restore:
        for variable, value in zip(variables, before):
            variable.assign(value)
    probed = tuple(
        ProbedVariable(key, layer, kind, role, b, a) for (key, layer, kind, role), b, a in zip(roles, before, after)
    )
    return TrainingProbe(probed, steps, error)


def _by_layer(variables: list[ProbedVariable]) -> list[str]:
    """ "layer `a` (Dense): a/kernel changed by up to 1.2e-03, a/bias ..." grouped by layer."""
    groups: dict[str, list[ProbedVariable]] = {}
    for variable in variables:
        groups.setdefault(variable.layer, []).append(variable)
    lines = []
    for layer, members in groups.items():
        parts = ", ".join(f"{v.key} (max change {v.max_change:.2g})" if v.moved else v.key for v in members)
        lines.append(f"layer `{layer}` ({members[0].kind}): {parts}")
    shown = "; ".join(lines[:MAX_LISTED])
    return [shown + (f"; and {len(lines) - MAX_LISTED} more layers" if len(lines) > MAX_LISTED else "")]


def _expected_roles(probe: TrainingProbe, reference: keras.Model | Sequence[str] | None) -> list[str] | str:
    """The expected role of each probed variable, or a message saying why they cannot be aligned."""
    if reference is None:
        return [v.role for v in probe.variables]
    if isinstance(reference, keras.Model):
        roles = [role for _, _, _, role in variable_roles(reference)]
        shapes = [tuple(v.shape) for v in reference.weights]
        got = [tuple(v.before.shape) for v in probe.variables]
        if shapes != got:
            return (
                f"Expected the model's {len(shapes)} weights to have the reference's shapes. "
                f"Received: {len(got)} weights whose shapes differ; see the architecture check"
            )
        return roles
    roles = list(reference)
    if len(roles) != len(probe.variables) or any(role not in ROLES for role in roles):
        return f"Expected {len(probe.variables)} roles from {ROLES}. Received: reference={roles!r}"
    return roles


def check_frozen_by_behaviour(
    probe: TrainingProbe,
    reference: keras.Model | Sequence[str] | None = None,
    *,
    name: str = "frozen weights stay frozen while training",
) -> CheckResult:
    """Judge a training probe: frozen weights bit-identical, trainable weights moved.

    Three failures, reported in this order:
    1. a variable whose own layer says `trainable=False` changed (the flags lie, the
       stale-compile case);
    2. a variable that the reference freezes changed;
    3. a variable that the reference (or the model's own flags) trains did not change.

    Args:
        probe: from `run_training_probe` on the submission's model.
        reference: the reference model (its current flags give what should be frozen), a list of
            roles aligned with `probe.variables`, or None to judge by the model's own flags.
        name: the result's name.

    Returns:
        A passed result, or a failed one naming the layers and variables concerned.
    """
    if probe.error is not None:
        hint = f" {STALE_HINT}" if "Unknown variable" in probe.error else ""
        return failed(
            name,
            f"Expected {probe.steps} training steps of the model as compiled to run. "
            f"Received: error={probe.error}{hint}",
        )
    expected = _expected_roles(probe, reference)
    if isinstance(expected, str):
        return failed(name, expected)
    flagged_frozen_moved = [v for v in probe.variables if v.role == "frozen" and v.moved]
    if flagged_frozen_moved:
        return failed(
            name,
            "Expected the weights of layers with trainable=False to stay bit-identical during "
            f"{probe.steps} training steps. Received: their flags say frozen, but the weights moved: "
            f"{_by_layer(flagged_frozen_moved)[0]}. {STALE_HINT}",
        )
    pairs = list(zip(probe.variables, expected))
    should_freeze = [v for v, role in pairs if role == "frozen" and v.moved]
    if should_freeze:
        return failed(
            name,
            f"Expected these weights to be frozen (bit-identical after {probe.steps} training steps), "
            f"as in the reference. Received: they are trainable and moved: {_by_layer(should_freeze)[0]}",
        )
    stuck = [v for v, role in pairs if role == "trainable" and not v.moved]
    if stuck:
        hint = (
            " Their flags say trainable: was the model compiled again after `trainable` changed?"
            if all(v.role == "trainable" for v in stuck)
            else ""
        )
        return failed(
            name,
            f"Expected these weights to change during {probe.steps} training steps. "
            f"Received: unchanged: {_by_layer(stuck)[0]}.{hint}",
        )
    moved = sum(v.moved for v in probe.variables)
    return passed(
        name,
        f"{moved} of {len(probe.variables)} weights moved during {probe.steps} training steps; "
        f"every frozen weight stayed bit-identical.",
    )
