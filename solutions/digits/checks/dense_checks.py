"""Part checks: the dense model's exact size, layers, arguments, compile settings and trained accuracy."""

from autograder.checks import check
from autograder.checks.accuracy import score_accuracy
from autograder.checks.architecture import check_architecture
from autograder.checks.arguments import check_layer_setting
from autograder.checks.compile_settings import check_compile_settings_on
from autograder.checks.parameters import check_parameter_counts


@check(part="dense", points=8, visibility="visible", name="build_dense_network: exact parameter counts")
def dense_parameter_counts(dense_model, dense_other, reference):
    return [
        check_parameter_counts(dense_model, reference.dense_model, label="build_dense_network() with the profile's settings", name="profile's settings"),
        check_parameter_counts(dense_other, reference.dense_other, label="build_dense_network() with other hidden units and classes", name="other arguments"),
    ]


@check(part="dense", points=8, visibility="hidden", name="build_dense_network: layers in order")
def dense_layers_in_order(dense_model, reference):
    return check_architecture(dense_model, reference.dense_model)


@check(part="dense", points=6, visibility="hidden", name="build_dense_network: follows its arguments")
def dense_follows_its_arguments(dense_other, reference, settings):
    return [
        check_architecture(dense_other, reference.dense_other, name="hidden units and classes"),
        check_layer_setting(dense_other, "Dropout", "rate", settings["dense_dropout_other"], argument="dropout", name="dropout"),
    ]


@check(part="dense", points=8, visibility="visible", name="compile_dense_network: compile settings")
def dense_compile_settings(dense_compile, dense_compile_other, dense_model, settings):
    rate, other = settings["dense_lr"], settings["dense_lr_other"]
    return check_compile_settings_on(
        {
            "a model the grader built to probe compile_dense_network": (dense_compile, rate),
            f"the same, with learning_rate={other:g}": (dense_compile_other, other),
            "the model the grader trains": (dense_model, rate),
        },
        optimizer="Adam", loss="SparseCategoricalCrossentropy",
    )


@check(part="dense", points=20, visibility="hidden", name="dense: hidden-test accuracy")
def dense_accuracy(dense_result, thresholds):
    return score_accuracy(dense_result.accuracy, thresholds["dense"], what="the dense model trained by the grader")
