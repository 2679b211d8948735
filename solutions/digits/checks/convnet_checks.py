"""Part checks: the convnet model's exact size, layers, arguments, compile settings and trained accuracy."""

from autograder.checks import check
from autograder.checks.accuracy import score_accuracy
from autograder.checks.architecture import check_architecture
from autograder.checks.arguments import check_layer_setting
from autograder.checks.compile_settings import check_compile_settings_on
from autograder.checks.parameters import check_parameter_counts


@check(part="convnet", points=8, visibility="visible", name="build_convnet: exact parameter counts")
def convnet_parameter_counts(convnet_model, convnet_other, reference):
    return [
        check_parameter_counts(convnet_model, reference.convnet_model, label="build_convnet() with the profile's settings", name="profile's settings"),
        check_parameter_counts(convnet_other, reference.convnet_other, label="build_convnet() with other filters and classes", name="other arguments"),
    ]


@check(part="convnet", points=8, visibility="hidden", name="build_convnet: layers in order")
def convnet_layers_in_order(convnet_model, reference):
    return check_architecture(convnet_model, reference.convnet_model)


@check(part="convnet", points=6, visibility="hidden", name="build_convnet: follows its arguments")
def convnet_follows_its_arguments(convnet_other, reference, settings):
    return [
        check_architecture(convnet_other, reference.convnet_other, name="filters and classes"),
        check_layer_setting(convnet_other, "Dropout", "rate", settings["convnet_dropout_other"], argument="dropout", name="dropout"),
    ]


@check(part="convnet", points=8, visibility="visible", name="compile_convnet: compile settings")
def convnet_compile_settings(convnet_compile, convnet_compile_other, convnet_model, settings):
    rate, other = settings["convnet_lr"], settings["convnet_lr_other"]
    return check_compile_settings_on(
        {
            "a model the grader built to probe compile_convnet": (convnet_compile, rate),
            f"the same, with learning_rate={other:g}": (convnet_compile_other, other),
            "the model the grader trains": (convnet_model, rate),
        },
        optimizer="Adam", loss="SparseCategoricalCrossentropy",
    )


@check(part="convnet", points=20, visibility="hidden", name="convnet: hidden-test accuracy")
def convnet_accuracy(convnet_result, thresholds):
    return score_accuracy(convnet_result.accuracy, thresholds["convnet"], what="the convnet model trained by the grader")
