"""Measurements made by the grader on returned models, never in the student's process.

A sandboxed worker imports the student's module, so anything it computes can be patched. The
worker therefore only saves what the student's functions returned; here, in a process that
never imports student code, the grader loads those `.keras` files in safe mode and measures:

- which weights move during real training steps (`run_training_probe` on a private copy);
- whether a model was compiled again after its trainability changed. A trained model the
  grader hands to a later function was trained before it was saved, so it loads with a built optimizer.
  `compile()` replaces that optimizer with a fresh one; a model returned without a new compile
  still carries the old optimizer's slot variables, shaped for the variables that were
  trainable *before* unfreezing. That is read from the file itself (`optimizer_slots`), and
  the consequences are reproduced with the grader's own copy of that model: train it one
  step, set the returned model's trainable flags, and run the training probe without compiling,
  exactly what the student's code would have done;
- the re-initialisation of the models the grader trains (`fresh_weights`), so the budget and
  the starting weights are the grader's: a submission cannot ship pre-trained weights.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autograder.checks.compile_settings import describe_compile
from autograder.checks.training_probe import TrainingProbe, run_training_probe
from autograder.sandbox import UntrustedArtifactError, load_keras_model
from autograder.sandbox.artifacts import read_bytes
from autograder.training.seeding import seed_everything

MAX_MODEL_BYTES = 256 * 1024 * 1024
PROBE_STEPS = 2
PRETRAIN_SAMPLES = 4


def optimizer_slots(out: Path, name: str) -> list[tuple[int, ...]]:
    """Shapes of the non-scalar optimizer variables saved in the `.keras` file `name` (hostile data).

    Empty when the optimizer was never built (a fresh `compile()`); otherwise one entry per
    slot variable (e.g. two per trained variable for Adam), shaped like the variables the
    optimizer was built for.
    """
    import h5py  # noqa: PLC0415  (Keras's own dependency for .keras weights)

    data = read_bytes(out, name, max_bytes=MAX_MODEL_BYTES)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            weights = archive.read("model.weights.h5")
        shapes: list[tuple[int, ...]] = []
        with h5py.File(io.BytesIO(weights), "r") as h5:
            group = h5.get("optimizer/vars")
            if group is None:
                return []
            for key in sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1):
                item = group[key]
                if isinstance(item, h5py.Dataset) and item.ndim > 0:
                    shapes.append(tuple(int(n) for n in item.shape))
        return shapes
    except (KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UntrustedArtifactError(f"Expected a .keras archive with model.weights.h5. Received: name={name!r} ({exc})") from exc


def built_for_other_variables(slots: list[tuple[int, ...]], model) -> bool:
    """True when the saved optimizer state was built for other variables than the trainable ones now."""
    if not slots:
        return False
    trainable = Counter(tuple(int(n) for n in v.shape) for v in model.trainable_variables if len(v.shape) > 0)
    got = Counter(slots)
    if not trainable:
        return True
    per_variable = {got[shape] / count for shape, count in trainable.items()}
    return set(got) != set(trainable) or len(per_variable) != 1 or not next(iter(per_variable)).is_integer()


def _walk(layer) -> Iterator:
    yield layer
    for sub in getattr(layer, "layers", None) or []:
        yield from _walk(sub)


def same_structure(model, other) -> str | None:
    """None when both models hold the same weights (count and shapes); else what differs."""
    got, want = [tuple(w.shape) for w in model.weights], [tuple(w.shape) for w in other.weights]
    if len(got) != len(want):
        return f"{len(got)} weight tensors where the grader's model has {len(want)}"
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return f"weight {i} has shape {a} where the grader's model has {b}"
    if len(list(_walk(model))) != len(list(_walk(other))):
        return "a different number of layers"
    return None


def copy_trainability(source, target) -> None:
    """Give every layer of `target` the `trainable` flag of the same layer of `source` (same structure)."""
    for src, dst in zip(_walk(source), _walk(target)):
        dst.trainable = bool(src.trainable)  # a parent first, then its sublayers override


def assign_weights(target, source_weights: list[np.ndarray]) -> None:
    for variable, value in zip(target.weights, source_weights):
        variable.assign(value)


def probe_images(worker: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(Path(worker) / "probe_images.npz", allow_pickle=False) as data:
        return data["images"].astype("float32"), data["labels"].astype("float32")


def measure_training(model, worker: Path) -> tuple[TrainingProbe, dict]:
    """Train a private copy two steps as compiled; (what moved, its compile settings after)."""
    images, labels = probe_images(worker)
    probe = run_training_probe(model, images, labels, steps=PROBE_STEPS)
    return probe, describe_compile(model)


def _eager(model):
    """A freshly loaded model has no traced train function: run its probe steps eagerly.

    They update the same variables a first traced step would (the trainable ones now), and
    skip seconds of tracing. Only the reproduction of a missing compile needs the traced
    function that the earlier training left behind.
    """
    model.run_eagerly = True
    return model


def measure_returned(out: Path, name: str, worker: Path, seed: int) -> tuple[TrainingProbe, dict]:
    """The training probe of a returned model as it is (a private copy of the file)."""
    seed_everything(seed)
    return measure_training(_eager(load_keras_model(out, name)), worker)


def measure_continued(out: Path, name: str, worker: Path, seed: int, trained: str) -> tuple[TrainingProbe, dict]:
    """The training probe of a model returned to continue training the grader's trained model `trained`.

    `trained` is a `.keras` file of the grader's inputs (`worker`), trained before it was saved, that
    the probe handed to the student's function. When the returned model was not compiled again,
    what that does is reproduced on the grader's own copy of it.
    """
    seed_everything(seed)
    returned = load_keras_model(out, name)
    slots = optimizer_slots(out, name)
    if not built_for_other_variables(slots, returned):
        return measure_training(_eager(returned), worker)
    # Not compiled again: reproduce what that does, on the grader's own trained model.
    import keras  # noqa: PLC0415

    model = keras.models.load_model(Path(worker) / trained, safe_mode=True)
    difference = same_structure(returned, model)
    if difference is not None:
        raise UntrustedArtifactError(f"Expected the function to return the model it was given ({trained}). Received: {difference}")
    images, labels = probe_images(worker)
    n = PRETRAIN_SAMPLES
    model.fit(images[:n], labels[:n], batch_size=n, epochs=1, verbose=0)  # the earlier training, as in the lab
    copy_trainability(returned, model)
    return measure_training(model, worker)


def fresh_weights(model, seed: int) -> list[np.ndarray]:
    """The weights `model`'s architecture gets when built right after `seed_everything(seed)`."""
    import keras  # noqa: PLC0415

    seed_everything(seed)
    clone = keras.models.clone_model(model)
    return [np.asarray(keras.ops.convert_to_numpy(w)) for w in clone.weights]
