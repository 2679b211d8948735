"""The probes of the transfer-learning lab: grader code that runs INSIDE the sandboxed worker.

A probe calls the student's functions with grader-made inputs and saves what comes back as
data (`.keras`, `.npz`, JSON) in the output folder. It computes no score and measures nothing:
the student's module is imported in this process and may have patched anything in it, so
every measurement (training steps, which weights move, whether a model was compiled again,
predictions on held-out features) is made by the grader on the artifacts, in a process that
never imports student code. What a probe saves is the submission's answer, nothing more.

Each probe is declared once with `@probe(part, **artifacts)`: the names checks ask for and the
file each is read from. The grader runs the same probes on the reference solution for the
expected side of every check. This file is public: `course release` copies it as it is.
"""

from __future__ import annotations

import json
from types import ModuleType

import numpy as np

from autograder.probes.context import ProbeContext, nested_base, require_model
from autograder.probes.declare import json_file, keras_model, npz_array, npz_arrays, probe


# -- part 1: augmentation ---------------------------------------------------------------------
@probe("augmentation", augmentation_block=keras_model("augmentation.keras"))
def augmentation_block(module: ModuleType, ctx: ProbeContext) -> dict:
    size = ctx.settings["augmentation_size"]
    block = require_model(module.build_augmentation(size, size, seed=ctx.settings["seed"]), "build_augmentation")
    return ctx.save_model(block, "augmentation.keras")


@probe("augmentation", ten_crops=npz_array("ten_crops.npz", "crops"))
def ten_crops(module: ModuleType, ctx: ProbeContext) -> dict:
    images = ctx.array("tta.npz", "images")
    crops = module.ten_crops(images.copy(), ctx.settings["tta_crop"])
    return ctx.save_arrays("ten_crops.npz", crops=np.asarray(crops))


@probe("augmentation", tta_predictions=npz_array("tta.npz", "probabilities"))
def predict_with_tta(module: ModuleType, ctx: ProbeContext) -> dict:
    images = ctx.array("tta.npz", "images")
    model = ctx.model("tta_model.keras")
    probabilities = module.predict_with_tta(model, images.copy(), ctx.settings["tta_crop"])
    return ctx.save_arrays("tta.npz", probabilities=np.asarray(probabilities, dtype="float64"))


# -- part 2: scratch --------------------------------------------------------------------------
@probe("scratch", scratch_150=keras_model("scratch_150.keras"), scratch_other=keras_model("scratch_other.keras"))
def scratch_models(module: ModuleType, ctx: ProbeContext) -> dict:
    """The convnet at 150x150 and at a second size, uncompiled (parameter counts)."""
    other = ctx.settings["scratch_other_size"]
    for name, shape in (("scratch_150.keras", (150, 150, 3)), ("scratch_other.keras", (other, other, 3))):
        ctx.save_model(require_model(module.build_scratch_cnn(shape), "build_scratch_cnn"), name)
    return {"artifacts": ["scratch_150.keras", "scratch_other.keras"]}


@probe("scratch", scratch_dropout=keras_model("scratch_dropout.keras"))
def scratch_dropout(module: ModuleType, ctx: ProbeContext) -> dict:
    """The convnet built with an off-profile dropout rate: is the argument followed?"""
    other = ctx.settings["scratch_other_size"]
    model = module.build_scratch_cnn((other, other, 3), dropout=ctx.settings["scratch_dropout_other"])
    return ctx.save_model(require_model(model, "build_scratch_cnn"), "scratch_dropout.keras")


@probe("scratch", scratch_plain=keras_model("scratch_plain.keras"), scratch_augmented=keras_model("scratch_augmented.keras"))
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
        compiled = module.compile_scratch_cnn(require_model(model, "build_scratch_cnn"))
        ctx.save_model(require_model(compiled, "compile_scratch_cnn"), name)
    return {"artifacts": ["scratch_plain.keras", "scratch_augmented.keras"]}


@probe("scratch", scratch_compile=keras_model("scratch_compile.keras"))
def scratch_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_scratch_cnn on a grader-made model, so its settings are judged on their own."""
    model = module.compile_scratch_cnn(ctx.model("dummy_model.keras"))
    return ctx.save_model(require_model(model, "compile_scratch_cnn"), "scratch_compile.keras")


# -- part 3: feature extraction ---------------------------------------------------------------
def _base(module: ModuleType, ctx: ProbeContext):
    size = ctx.settings["base_size"]
    return require_model(
        module.load_base((size, size, 3), alpha=ctx.settings["alpha"], weights=ctx.settings["weights_file"]),
        "load_base",
    )


@probe("feature_extraction", base=keras_model("base.keras"))
def base_model(module: ModuleType, ctx: ProbeContext) -> dict:
    return ctx.save_model(_base(module, ctx), "base.keras")


@probe("feature_extraction", features=npz_array("features.npz", "features"))
def features(module: ModuleType, ctx: ProbeContext) -> dict:
    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    images = ctx.array("feature_probe.npz", "images")  # in no array this worker can read
    base = reference_base(ctx.settings)  # the student's extraction, on the grader's base
    values = module.extract_features(base, images.copy(), batch_size=16)
    return ctx.save_arrays("features.npz", features=np.asarray(values, dtype="float32"))


@probe("feature_extraction", linear=npz_arrays("linear.npz"))
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


@probe("feature_extraction", transfer_uncompiled=keras_model("transfer_uncompiled.keras"), transfer_model=keras_model("transfer_model.keras"))
def transfer_model(module: ModuleType, ctx: ProbeContext) -> dict:
    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    try:
        base = _base(module, ctx)
        base_source = "student"
    except Exception:  # noqa: BLE001  (load_base is judged by its own probe)
        base, base_source = reference_base(ctx.settings), "reference"
    augmentation = ctx.model("augmentation_base.keras")
    model = require_model(
        module.build_transfer_model(base, augmentation=augmentation, dropout=ctx.settings["transfer_dropout"]),
        "build_transfer_model",
    )
    ctx.save_model(model, "transfer_uncompiled.keras")
    model = require_model(
        module.compile_transfer_model(model, learning_rate=ctx.settings["transfer_lr"]), "compile_transfer_model"
    )
    ctx.save_model(model, "transfer_model.keras")
    return {"artifacts": ["transfer_uncompiled.keras", "transfer_model.keras"], "base": base_source}


@probe("feature_extraction", transfer_dropout=keras_model("transfer_dropout.keras"))
def transfer_dropout(module: ModuleType, ctx: ProbeContext) -> dict:
    """build_transfer_model with an off-profile dropout rate, on the grader's base: is it followed?"""
    from autograder.probes.training_probe import reference_base  # noqa: PLC0415

    model = module.build_transfer_model(reference_base(ctx.settings), dropout=ctx.settings["transfer_dropout_other"])
    return ctx.save_model(require_model(model, "build_transfer_model"), "transfer_dropout.keras")


@probe("feature_extraction", transfer_compile=keras_model("transfer_compile.keras"))
def transfer_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_transfer_model on a grader-made model, with an off-profile rate it must follow."""
    model = module.compile_transfer_model(ctx.model("dummy_model.keras"), learning_rate=ctx.settings["transfer_lr_other"])
    return ctx.save_model(require_model(model, "compile_transfer_model"), "transfer_compile.keras")


# -- part 4: fine-tuning ----------------------------------------------------------------------
@probe("fine_tuning", fine_tune_model=keras_model("fine_tune_model.keras"))
def fine_tuning_model(module: ModuleType, ctx: ProbeContext) -> dict:
    """unfreeze_top and compile_for_fine_tuning on the trained frozen model.

    The grader's frozen model was trained before it was saved, so it loads with a built
    optimizer whose step count is above zero: a model that comes back with that optimizer
    state was not compiled again (the grader reads this from the file and reproduces the
    consequences itself, see `autograder.grading.measure`).
    """
    model = ctx.model("frozen_model.keras")
    module.unfreeze_top(nested_base(model), ctx.settings["fine_tune_at"])
    model = require_model(
        module.compile_for_fine_tuning(model, learning_rate=ctx.settings["fine_tune_lr"]), "compile_for_fine_tuning"
    )
    ctx.save_model(model, "fine_tune_model.keras")
    return {"artifacts": ["fine_tune_model.keras"]}


@probe("fine_tuning", fine_tuning_compile=keras_model("fine_tuning_compile.keras"))
def fine_tuning_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_for_fine_tuning on the trained frozen model, judged apart from unfreeze_top, with
    an off-profile rate it must follow."""
    model = ctx.model("frozen_model.keras")
    model = module.compile_for_fine_tuning(model, learning_rate=ctx.settings["fine_tune_lr_other"])
    return ctx.save_model(require_model(model, "compile_for_fine_tuning"), "fine_tuning_compile.keras")


@probe("fine_tuning", unfreeze_other=json_file("unfreeze_other.json"))
def unfreeze_elsewhere(module: ModuleType, ctx: ProbeContext) -> dict:
    """unfreeze_top at a second index, to see that the boundary follows the argument."""
    base = nested_base(ctx.model("frozen_model.keras"))
    at = ctx.settings["fine_tune_at_other"]
    module.unfreeze_top(base, at)
    flags = [{"name": layer.name, "class": type(layer).__name__, "trainable": bool(layer.trainable)} for layer in base.layers]
    (ctx.out / "unfreeze_other.json").write_text(json.dumps({"fine_tune_at": at, "layers": flags}))
    return {"artifact": "unfreeze_other.json"}


@probe("fine_tuning", callbacks=json_file("callbacks.json"))
def callbacks(module: ModuleType, ctx: ProbeContext) -> dict:
    from autograder.probes.training_probe import describe_callbacks  # noqa: PLC0415

    found = module.fine_tuning_callbacks(patience=ctx.settings["patience"])
    (ctx.out / "callbacks.json").write_text(json.dumps(describe_callbacks(found)))
    return {"artifact": "callbacks.json"}
