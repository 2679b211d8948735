"""The probes of the digits lab: grader code that runs INSIDE the sandboxed worker.

Each probe calls the student's functions with grader-made arguments and saves what comes back
(`.keras` files) in the output folder; it measures nothing. The grader reads the files as
data, runs the same probes on the reference for the expected side, and trains the returned
models itself. Declared once each with `@probe(part, **artifacts)`. Public: `course release`
copies this file as it is.
"""

from __future__ import annotations

from types import ModuleType

from autograder.probes.context import ProbeContext, require_model
from autograder.probes.declare import keras_model, probe

SHAPE = (8, 8, 1)


def _seeded(ctx: ProbeContext) -> None:
    from autograder.training.seeding import seed_everything  # noqa: PLC0415

    seed_everything(int(ctx.settings["seed"]))


# -- part 1: dense ----------------------------------------------------------------------------
@probe("dense", dense_model=keras_model("dense_model.keras"))
def dense_model(module: ModuleType, ctx: ProbeContext) -> dict:
    """The network the grader trains: built with the profile's settings right after seeding, then compiled."""
    s = ctx.settings
    _seeded(ctx)
    model = require_model(
        module.build_dense_network(SHAPE, hidden_units=s["dense_units"], dropout=s["dense_dropout"]), "build_dense_network"
    )
    compiled = module.compile_dense_network(model, learning_rate=s["dense_lr"])
    return ctx.save_model(require_model(compiled, "compile_dense_network"), "dense_model.keras")


@probe("dense", dense_other=keras_model("dense_other.keras"))
def dense_other(module: ModuleType, ctx: ProbeContext) -> dict:
    """Built with off-profile units, dropout and class count: are the arguments followed?"""
    s = ctx.settings
    model = module.build_dense_network(
        SHAPE, hidden_units=s["dense_units_other"], dropout=s["dense_dropout_other"], num_classes=s["classes_other"]
    )
    return ctx.save_model(require_model(model, "build_dense_network"), "dense_other.keras")


@probe("dense", dense_compile=keras_model("dense_compile.keras"), dense_compile_other=keras_model("dense_compile_other.keras"))
def dense_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_dense_network on grader-made models, at the profile's rate and at another one."""
    for name, rate in (("dense_compile.keras", ctx.settings["dense_lr"]), ("dense_compile_other.keras", ctx.settings["dense_lr_other"])):
        model = module.compile_dense_network(ctx.model("dummy_model.keras"), learning_rate=rate)
        ctx.save_model(require_model(model, "compile_dense_network"), name)
    return {"artifacts": ["dense_compile.keras", "dense_compile_other.keras"]}


# -- part 2: convnet --------------------------------------------------------------------------
@probe("convnet", convnet_model=keras_model("convnet_model.keras"))
def convnet_model(module: ModuleType, ctx: ProbeContext) -> dict:
    """The convnet the grader trains: built with the profile's settings right after seeding, then compiled."""
    s = ctx.settings
    _seeded(ctx)
    model = require_model(module.build_convnet(SHAPE, filters=s["convnet_filters"], dropout=s["convnet_dropout"]), "build_convnet")
    compiled = module.compile_convnet(model, learning_rate=s["convnet_lr"])
    return ctx.save_model(require_model(compiled, "compile_convnet"), "convnet_model.keras")


@probe("convnet", convnet_other=keras_model("convnet_other.keras"))
def convnet_other(module: ModuleType, ctx: ProbeContext) -> dict:
    """Built with off-profile filters, dropout and class count: are the arguments followed?"""
    s = ctx.settings
    model = module.build_convnet(
        SHAPE, filters=s["convnet_filters_other"], dropout=s["convnet_dropout_other"], num_classes=s["classes_other"]
    )
    return ctx.save_model(require_model(model, "build_convnet"), "convnet_other.keras")


@probe("convnet", convnet_compile=keras_model("convnet_compile.keras"), convnet_compile_other=keras_model("convnet_compile_other.keras"))
def convnet_compile(module: ModuleType, ctx: ProbeContext) -> dict:
    """compile_convnet on grader-made models, at the profile's rate and at another one."""
    for name, rate in (("convnet_compile.keras", ctx.settings["convnet_lr"]), ("convnet_compile_other.keras", ctx.settings["convnet_lr_other"])):
        model = module.compile_convnet(ctx.model("dummy_model.keras"), learning_rate=rate)
        ctx.save_model(require_model(model, "compile_convnet"), name)
    return {"artifacts": ["convnet_compile.keras", "convnet_compile_other.keras"]}
