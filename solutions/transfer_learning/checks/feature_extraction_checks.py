"""Part 3 checks: the frozen base, its features, the linear classifier and the end-to-end model."""

import numpy as np

from autograder.checks import because, check
from autograder.checks.accuracy import score_accuracy
from autograder.checks.architecture import check_architecture
from autograder.checks.arguments import check_layer_setting
from autograder.checks.calls import check_called_in_inference_mode
from autograder.checks.compile_settings import check_compile_settings_on
from autograder.checks.parameters import check_parameter_counts
from autograder.checks.trainability import check_frozen, check_trainability_flags
from autograder.checks.training_probe import check_frozen_by_behaviour


LOAD_BASE = "load_base: a frozen MobileNetV2 without its top"


def trainable_base(base) -> str | None:
    """The cause when the student's `load_base` left its base trainable: the transfer model is
    built on that base, so a right `build_transfer_model` fails with it."""
    if not base.trainable_weights:
        return None
    return f"`load_base` returned a trainable base (see `{LOAD_BASE}`)"


@check(part="feature_extraction", points=3, visibility="visible", name=LOAD_BASE)
def base_is_a_frozen_pretrained_base(base, reference):
    return [
        check_frozen(base, name="frozen"),
        check_parameter_counts(base, reference.base, label="load_base", name="parameter counts"),
    ]


@check(part="feature_extraction", points=4, visibility="hidden", name="extract_features: the reference's features")
def features_match_the_reference(features, reference):
    expected = np.asarray(reference.features)
    received = np.asarray(features)
    assert received.shape == expected.shape, (
        f"Expected extract_features to return one {expected.shape[1]}-vector per image, shape {expected.shape}. "
        f"Received: shape={received.shape}"
    )
    error = float(np.max(np.abs(received - expected)))
    scale = float(np.max(np.abs(expected))) or 1.0
    assert error <= 1e-3 * scale + 1e-4, (
        "Expected extract_features to give the features of preprocess_input -> base in inference mode -> "
        f"global average pooling (largest value {scale:.3g}). Received: features differing by up to {error:.3g}; "
        "check preprocess_input, base.predict (not training mode) and the mean over height and width"
    )


@check(part="feature_extraction", points=5, visibility="hidden", name="fit_linear_classifier: hidden-test accuracy")
def linear_classifier_accuracy(linear_result, thresholds):
    return score_accuracy(linear_result.accuracy, thresholds["linear_classifier"], what="the linear classifier on frozen features")


@check(part="feature_extraction", points=3, visibility="visible", name="build_transfer_model: only the head trains")
def transfer_model_trains_only_its_head(transfer_model, reference, base):
    return because(check_trainability_flags(transfer_model, reference.transfer_model), trainable_base(base))


@check(part="feature_extraction", points=2, visibility="hidden", name="build_transfer_model: layers in order")
def transfer_model_layers(transfer_model, reference):
    return check_architecture(transfer_model, reference.transfer_model)


@check(part="feature_extraction", points=1, visibility="hidden", name="build_transfer_model: follows its dropout argument")
def transfer_model_follows_its_dropout_argument(transfer_dropout, settings):
    return check_layer_setting(transfer_dropout, "Dropout", "rate", settings["transfer_dropout_other"], argument="dropout")


@check(part="feature_extraction", points=2, visibility="hidden", name="build_transfer_model: base called with training=False")
def transfer_model_calls_the_base_in_inference_mode(transfer_model):
    return check_called_in_inference_mode(transfer_model, ignore=("augmentation",))


@check(part="feature_extraction", points=2, visibility="visible", name="compile_transfer_model: compile settings")
def transfer_compile_settings(transfer_compile, transfer_model, settings):
    other = settings["transfer_lr_other"]
    return check_compile_settings_on(
        {
            f"a model the grader built, compiled with learning_rate={other:g}": (transfer_compile, other),
            "the model the grader trains": (transfer_model, settings["transfer_lr"]),
        },
        optimizer="Adam",
    )


@check(part="feature_extraction", points=3, visibility="hidden", name="transfer model: the base does not move while training")
def frozen_base_stays_frozen_while_training(transfer_probe, reference, base):
    probe, _ = transfer_probe
    return because(check_frozen_by_behaviour(probe, reference.transfer_model), trainable_base(base))


@check(part="feature_extraction", points=5, visibility="hidden", name="frozen base + head: hidden-test accuracy")
def frozen_base_accuracy(frozen_result, thresholds):
    return score_accuracy(frozen_result.accuracy, thresholds["frozen_base"], what="the frozen-base model")
