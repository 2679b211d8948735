"""The probes of each part: grader code that runs INSIDE the sandboxed worker.

A probe calls the student's functions with grader-made inputs and saves what comes back as
data (`.keras`, `.npz`, JSON) in the output folder. It computes no score and measures nothing:
the student's module is imported in this process and may have patched anything in it, so
every measurement (training steps, which weights move, whether a model was compiled again,
predictions on held-out features) is made by the grader on the artifacts, in a process that
never imports student code. What a probe saves is the submission's answer, nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

Probe = Callable[[ModuleType, "ProbeContext"], dict]


class ProbeContext:
    """The worker's view of one request: settings, input and output folders."""

    def __init__(self, settings: dict, inputs: Path, out: Path) -> None:
        self.settings = settings
        self.inputs = Path(inputs)
        self.out = Path(out)

    def array(self, name: str, key: str) -> np.ndarray:
        with np.load(self.inputs / name, allow_pickle=False) as data:
            return data[key]

    def model(self, name: str):
        import keras  # noqa: PLC0415

        return keras.models.load_model(self.inputs / name, safe_mode=True)

    def save_model(self, model, name: str) -> dict:
        import keras  # noqa: PLC0415

        if not isinstance(model, keras.Model):
            raise TypeError(f"Expected a keras.Model. Received: {type(model).__name__}")
        model.save(self.out / name)
        return {"artifact": name}

    def save_arrays(self, name: str, **arrays) -> dict:
        np.savez(self.out / name, **{k: np.asarray(v) for k, v in arrays.items()})
        return {"artifact": name}


def _require_model(value, function: str):
    import keras  # noqa: PLC0415

    if not isinstance(value, keras.Model):
        raise TypeError(f"{function} must return a keras.Model. Received: {type(value).__name__}")
    return value


# -- part 1: augmentation ---------------------------------------------------------------------
def augmentation_block(module: ModuleType, ctx: ProbeContext) -> dict:
    size = ctx.settings["augmentation_size"]
    block = _require_model(module.build_augmentation(size, size, seed=ctx.settings["seed"]), "build_augmentation")
    return ctx.save_model(block, "augmentation.keras")


def ten_crops(module: ModuleType, ctx: ProbeContext) -> dict:
    images = ctx.array("tta.npz", "images")
    crops = module.ten_crops(images.copy(), ctx.settings["tta_crop"])
    return ctx.save_arrays("ten_crops.npz", crops=np.asarray(crops))


def predict_with_tta(module: ModuleType, ctx: ProbeContext) -> dict:
    images = ctx.array("tta.npz", "images")
    model = ctx.model("tta_model.keras")
    probabilities = module.predict_with_tta(model, images.copy(), ctx.settings["tta_crop"])
    return ctx.save_arrays("tta.npz", probabilities=np.asarray(probabilities, dtype="float64"))


# -- part 2: scratch --------------------------------------------------------------------------
def scratch_models(module: ModuleType, ctx: ProbeContext) -> dict:
    """The convnet at 150x150 and at a second size, uncompiled (parameter counts)."""
    other = ctx.settings["scratch_other_size"]
    for name, shape in (("scratch_150.keras", (150, 150, 3)), ("scratch_other.keras", (other, other, 3))):
        ctx.save_model(_require_model(module.build_scratch_cnn(shape), "build_scratch_cnn"), name)
    return {"artifacts": ["scratch_150.keras", "scratch_other.keras"]}


def scratch_dropout(module: ModuleType, ctx: ProbeContext) -> dict:
    """The convnet built with an off-profile dropout rate: is the argument followed?"""
    other = ctx.settings["scratch_other_size"]
    model = module.build_scratch_cnn((other, other, 3), dropout=ctx.settings["scratch_dropout_other"])
    return ctx.save_model(_require_model(model, "build_scratch_cnn"), "scratch_dropout.keras")


def scratch_compiled(module: ModuleType, ctx: ProbeContext) -> dict:
    """The two convnets the grader will train, built and compiled by the submission."""
    from autograder.training.seeding import seed_everything  # noqa: PLC0415

    size, seed = ctx.settings["scratch_size"], int(ctx.settings["seed"])
    augmentation = ctx.model("augmentation_scratch.keras")
    # Each model is built right after seeding, as the grader re-initialises it before training.
    seed_everything(seed)
    plain = module.build_scratch_cnn((size, size, 3))
    seed_everything(seed)
    augmented = module.build_scratch_cnn((size, size, 3), augmentation=augmentation, dropout=ctx.settings["scratch_dropout"])
    for name, model in (("scratch_plain.keras", plain), ("scratch_augmented.keras", augmented)):
        compiled = module.compile_scratch_cnn(_require_model(model, "build_scratch_cnn"))
        ctx.save_model(_require_model(compiled, "compile_scratch_cnn"), name)
    return {"artifacts": ["scratch_plain.keras", "scratch_augmented.keras"]}


def scratch_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_scratch_cnn on a grader-made model, so its settings are judged on their own."""
    model = module.compile_scratch_cnn(ctx.model("dummy_model.keras"))
    return ctx.save_model(_require_model(model, "compile_scratch_cnn"), "scratch_compile.keras")


# -- part 3: feature extraction ---------------------------------------------------------------
def _base(module: ModuleType, ctx: ProbeContext):
    size = ctx.settings["base_size"]
    return _require_model(
        module.load_base((size, size, 3), alpha=ctx.settings["alpha"], weights=ctx.settings["weights_file"]),
        "load_base",
    )


def base_model(module: ModuleType, ctx: ProbeContext) -> dict:
    return ctx.save_model(_base(module, ctx), "base.keras")


def features(module: ModuleType, ctx: ProbeContext) -> dict:
    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    images = ctx.array("feature_probe.npz", "images")  # in no array this worker can read
    base = reference_base(ctx.settings)  # the student's extraction, on the grader's base
    values = module.extract_features(base, images.copy(), batch_size=16)
    return ctx.save_arrays("features.npz", features=np.asarray(values, dtype="float32"))


def linear_classifier(module: ModuleType, ctx: ProbeContext) -> dict:
    """Fit on the training features; export the classifier as arrays (the grader predicts)."""
    from autograder.grading.linear_model import export_linear  # noqa: PLC0415

    with np.load(ctx.inputs / "linear.npz", allow_pickle=False) as data:
        train, labels = data["train"], data["labels"]
    classifier = module.fit_linear_classifier(train.copy(), labels.copy())
    if not hasattr(classifier, "predict_proba"):
        raise TypeError(f"fit_linear_classifier must return a classifier with predict_proba. Received: {type(classifier).__name__}")
    np.savez(ctx.out / "linear.npz", **export_linear(classifier))
    return {"artifact": "linear.npz", "classifier": type(classifier).__name__}


def transfer_model(module: ModuleType, ctx: ProbeContext) -> dict:
    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    try:
        base = _base(module, ctx)
        base_source = "student"
    except Exception:  # noqa: BLE001  (load_base is judged by its own probe)
        base, base_source = reference_base(ctx.settings), "reference"
    augmentation = ctx.model("augmentation_base.keras")
    model = _require_model(
        module.build_transfer_model(base, augmentation=augmentation, dropout=ctx.settings["transfer_dropout"]),
        "build_transfer_model",
    )
    ctx.save_model(model, "transfer_uncompiled.keras")
    model = _require_model(
        module.compile_transfer_model(model, learning_rate=ctx.settings["transfer_lr"]), "compile_transfer_model"
    )
    ctx.save_model(model, "transfer_model.keras")
    return {"artifacts": ["transfer_uncompiled.keras", "transfer_model.keras"], "base": base_source}


def transfer_dropout(module: ModuleType, ctx: ProbeContext) -> dict:
    """build_transfer_model with an off-profile dropout rate, on the grader's base: is it followed?"""
    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    model = module.build_transfer_model(reference_base(ctx.settings), dropout=ctx.settings["transfer_dropout_other"])
    return ctx.save_model(_require_model(model, "build_transfer_model"), "transfer_dropout.keras")


def transfer_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_transfer_model on a grader-made model, with an off-profile rate it must follow."""
    model = module.compile_transfer_model(ctx.model("dummy_model.keras"), learning_rate=ctx.settings["transfer_lr_other"])
    return ctx.save_model(_require_model(model, "compile_transfer_model"), "transfer_compile.keras")


# -- part 4: fine-tuning ----------------------------------------------------------------------
def nested_base(model):
    import keras  # noqa: PLC0415

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model) and not isinstance(layer, keras.Sequential)]
    if not nested:
        raise ValueError("Expected the model to hold the pretrained base as a nested model. Received: none")
    return max(nested, key=lambda layer: len(layer.weights))  # the base, not an augmentation block


def fine_tuning_model(module: ModuleType, ctx: ProbeContext) -> dict:
    """unfreeze_top and compile_for_fine_tuning on the trained frozen model.

    The grader's frozen model was trained before it was saved, so it loads with a built
    optimizer whose step count is above zero: a model that comes back with that optimizer
    state was not compiled again (the grader reads this from the file and reproduces the
    consequences itself, see `autograder.grading.measure`).
    """
    model = ctx.model("frozen_model.keras")
    module.unfreeze_top(nested_base(model), ctx.settings["fine_tune_at"])
    model = _require_model(
        module.compile_for_fine_tuning(model, learning_rate=ctx.settings["fine_tune_lr"]), "compile_for_fine_tuning"
    )
    ctx.save_model(model, "fine_tune_model.keras")
    return {"artifacts": ["fine_tune_model.keras"]}


def fine_tuning_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_for_fine_tuning on the trained frozen model, judged apart from unfreeze_top, with
    an off-profile rate it must follow."""
    model = ctx.model("frozen_model.keras")
    model = module.compile_for_fine_tuning(model, learning_rate=ctx.settings["fine_tune_lr_other"])
    return ctx.save_model(_require_model(model, "compile_for_fine_tuning"), "fine_tuning_compile.keras")


def unfreeze_elsewhere(module: ModuleType, ctx: ProbeContext) -> dict:
    """unfreeze_top at a second index, to see that the boundary follows the argument."""
    base = nested_base(ctx.model("frozen_model.keras"))
    at = ctx.settings["fine_tune_at_other"]
    module.unfreeze_top(base, at)
    flags = [{"name": layer.name, "class": type(layer).__name__, "trainable": bool(layer.trainable)} for layer in base.layers]
    (ctx.out / "unfreeze_other.json").write_text(json.dumps({"fine_tune_at": at, "layers": flags}))
    return {"artifact": "unfreeze_other.json"}


def callbacks(module: ModuleType, ctx: ProbeContext) -> dict:
    from autograder.probes.training_probe import describe_callbacks  # noqa: PLC0415

    found = module.fine_tuning_callbacks(patience=ctx.settings["patience"])
    (ctx.out / "callbacks.json").write_text(json.dumps(describe_callbacks(found)))
    return {"artifact": "callbacks.json"}


PROBES: dict[str, tuple[Probe, ...]] = {
    "augmentation": (augmentation_block, ten_crops, predict_with_tta),
    "scratch": (scratch_models, scratch_dropout, scratch_compiled, scratch_compile),
    "feature_extraction": (base_model, features, linear_classifier, transfer_model, transfer_dropout, transfer_compile),
    "fine_tuning": (fine_tuning_model, fine_tuning_compile, unfreeze_elsewhere, callbacks),
}
