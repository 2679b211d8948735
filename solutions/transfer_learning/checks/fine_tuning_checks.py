"""Part 4 checks: which layers unfreeze, the recompile, early stopping and the trained accuracy."""

from autograder.checks import check
from autograder.checks.accuracy import score_accuracy
from autograder.checks.callbacks import check_early_stopping
from autograder.checks.compile_settings import check_compile_settings_on, check_recompiled
from autograder.checks.trainability import check_trainability_flags
from autograder.checks.training_probe import check_frozen_by_behaviour


def _flag_differences(received, expected):
    return [
        f"layer {i} `{e['name']}` ({e['class']}): expected trainable={e['trainable']}, received trainable={r['trainable']}"
        for i, (r, e) in enumerate(zip(received, expected))
        if r["trainable"] != e["trainable"]
    ]


@check(part="fine_tuning", points=4, visibility="visible", name="unfreeze_top: trainable layers of the base")
def unfreeze_top_trainable_layers(fine_tune_model, reference):
    return check_trainability_flags(fine_tune_model, reference.fine_tune_model)


@check(part="fine_tuning", points=3, visibility="hidden", name="unfreeze_top: follows its argument")
def unfreeze_top_follows_its_argument(unfreeze_other, reference):
    received, expected = unfreeze_other["layers"], reference.unfreeze_other["layers"]
    assert len(received) == len(expected), f"Expected {len(expected)} layers in the base. Received: {len(received)}"
    differences = _flag_differences(received, expected)
    assert not differences, (
        f"Expected unfreeze_top(base, {unfreeze_other['fine_tune_at']}) to unfreeze from that index on. Received: "
        + "; ".join(differences[:4]) + (f"; and {len(differences) - 4} more" if len(differences) > 4 else "")
    )


@check(part="fine_tuning", points=3, visibility="hidden", name="unfreeze_top: BatchNormalization layers stay frozen")
def batchnorm_layers_stay_frozen(unfreeze_other):
    trainable = [layer["name"] for layer in unfreeze_other["layers"] if layer["class"] == "BatchNormalization" and layer["trainable"]]
    assert not trainable, (
        "Expected every BatchNormalization layer to stay frozen while fine-tuning. "
        f"Received: trainable BatchNormalization layers {trainable[:5]}" + (" ..." if len(trainable) > 5 else "")
    )


@check(part="fine_tuning", points=3, visibility="visible", name="compile_for_fine_tuning: compile settings")
def fine_tuning_compile_settings(fine_tuning_compile, fine_tune_model, settings):
    other = settings["fine_tune_lr_other"]
    return check_compile_settings_on(
        {
            f"the trained frozen model, compiled with learning_rate={other:g}": (fine_tuning_compile, other),
            "the model the grader fine-tunes": (fine_tune_model, settings["fine_tune_lr"]),
        },
        optimizer="RMSprop",
    )


@check(part="fine_tuning", points=3, visibility="hidden", name="compile_for_fine_tuning: compiled again after unfreezing")
def fine_tuning_compiles_again_after_unfreezing(fine_tune_probe):
    _, compiled = fine_tune_probe
    return check_recompiled(compiled)


@check(part="fine_tuning", points=3, visibility="hidden", name="fine-tuning: only the unfrozen layers move")
def fine_tuning_trains_exactly_the_unfrozen_layers(fine_tune_probe, reference):
    probe, _ = fine_tune_probe
    return check_frozen_by_behaviour(probe, reference.fine_tune_model)


@check(part="fine_tuning", points=3, visibility="visible", name="fine_tuning_callbacks: EarlyStopping on val_loss restoring the best weights")
def early_stopping_on_validation_loss(callbacks, settings):
    return check_early_stopping(callbacks, monitor="val_loss", patience=settings["patience"], restore_best_weights=True)


@check(part="fine_tuning", points=8, visibility="hidden", name="fine-tuned model: hidden-test accuracy")
def fine_tuned_accuracy(fine_tuned_result, thresholds):
    return score_accuracy(fine_tuned_result.accuracy, thresholds["fine_tuned"], what="the fine-tuned model")
