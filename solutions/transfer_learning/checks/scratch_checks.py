"""Part 2 checks: the small convnet's exact size, layers, compile settings and trained accuracy."""

from autograder.checks import check
from autograder.checks.accuracy import score_accuracy
from autograder.checks.architecture import check_architecture
from autograder.checks.arguments import check_layer_setting
from autograder.checks.compile_settings import check_compile_settings_on
from autograder.checks.parameters import check_parameter_counts_at_sizes


@check(part="scratch", points=4, visibility="visible", name="build_scratch_cnn: exact parameter counts (3,453,121 at 150x150x3)")
def scratch_parameter_counts_at_two_sizes(scratch_150, scratch_other, reference, settings):
    other = settings["scratch_other_size"]
    return check_parameter_counts_at_sizes(
        {150: scratch_150, other: scratch_other},
        {150: reference.scratch_150, other: reference.scratch_other},
        label="build_scratch_cnn",
    )


@check(part="scratch", points=2, visibility="hidden", name="build_scratch_cnn: layers")
def scratch_layers(scratch_plain, scratch_augmented, reference):
    return [
        check_architecture(scratch_plain, reference.scratch_plain, name="without augmentation"),
        check_architecture(scratch_augmented, reference.scratch_augmented, name="with augmentation and dropout"),
    ]


@check(part="scratch", points=1, visibility="hidden", name="build_scratch_cnn: follows its dropout argument")
def scratch_follows_its_dropout_argument(scratch_dropout, settings):
    return check_layer_setting(scratch_dropout, "Dropout", "rate", settings["scratch_dropout_other"], argument="dropout")


@check(part="scratch", points=3, visibility="visible", name="compile_scratch_cnn: compile settings")
def scratch_compile_settings(scratch_compile, scratch_plain, scratch_augmented):
    return check_compile_settings_on(
        {
            "a model the grader built to probe compile_scratch_cnn": scratch_compile,
            "the convnet the grader trains without augmentation": scratch_plain,
            "the convnet the grader trains with augmentation": scratch_augmented,
        },
        optimizer="RMSprop", learning_rate=1e-4,
    )


@check(part="scratch", points=5, visibility="hidden", name="scratch convnet: hidden-test accuracy")
def scratch_accuracy(scratch_result, thresholds):
    return score_accuracy(scratch_result.accuracy, thresholds["scratch"], what="the convnet without augmentation")


@check(part="scratch", points=5, visibility="hidden", name="scratch convnet with augmentation: hidden-test accuracy")
def scratch_augmented_accuracy(scratch_augmented_result, thresholds):
    return score_accuracy(
        scratch_augmented_result.accuracy, thresholds["scratch_augmented"], what="the convnet with augmentation and dropout"
    )
