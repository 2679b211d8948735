"""The mistake catalogue: each realistic wrong submission loses points on the check that names the
mistake, keeps every other check of its part, and is told what to fix.

A mutant is the reference solution with one edit. Only the mutated part is graded. Accuracy
checks of that part may also drop where the mistake really makes the model worse ("collateral");
the test does not run those (they would train a model whose score it does not look at).
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    old: str
    new: str
    intended: tuple[str, ...]  # check names (prefixes) that must lose points
    collateral: tuple[str, ...] = ()  # accuracy checks allowed to drop too
    says: str = ""  # a phrase the intended check's message must contain
    root_cause: tuple[str, str] = ()  # (a check of a right function, the root cause its message must name)

    @property
    def part(self) -> str:
        return self.module.removesuffix(".py")

    def apply(self, solutions, folder):
        """`folder`: a copy of the reference modules in `solutions` with this one edit (no checks or calibrations)."""
        shutil.copytree(solutions, folder, ignore=shutil.ignore_patterns("checks", "calibration", "__pycache__"))
        path = folder / self.module
        source = path.read_text()
        if source.count(self.old) != 1:
            raise ValueError(f"Mutant {self.name!r}: expected its edit once in {path}. Received: {source.count(self.old)} matches")
        path.write_text(source.replace(self.old, self.new))
        return folder


FROZEN_ACC = "frozen base + head: hidden-test accuracy"
FINE_ACC = "fine-tuned model: hidden-test accuracy"
SCRATCH_ACC = ("scratch convnet: hidden-test accuracy", "scratch convnet with augmentation: hidden-test accuracy")

MUTANTS = [
    Mutant("base_not_frozen", "feature_extraction.py", "    base.trainable = False\n    return base", "    return base",
           ("load_base:", "build_transfer_model: only the head trains", "transfer model: the base does not move"),
           (FROZEN_ACC,), "trainable",
           ("build_transfer_model: only the head trains", "Because `load_base` returned a trainable base")),
    Mutant("not_recompiled_after_unfreezing", "fine_tuning.py",
           "    model.compile(\n        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),\n        loss=keras.losses.BinaryCrossentropy(),\n        metrics=[\"accuracy\"],\n    )\n    return model",
           "    return model",
           ("compile_for_fine_tuning: compile settings (optimizer", "compile_for_fine_tuning: compiled again", "fine-tuning: only the unfrozen layers move"),
           (FINE_ACC,), "compile"),
    Mutant("batchnorm_unfrozen", "fine_tuning.py", "if index < fine_tune_at or isinstance(layer, layers.BatchNormalization):",
           "if index < fine_tune_at:",
           ("unfreeze_top: trainable layers", "unfreeze_top: BatchNormalization", "unfreeze_top: follows its argument", "fine-tuning: only the unfrozen layers move"),
           (FINE_ACC,), "BatchNormalization"),
    Mutant("base_called_in_training_mode", "feature_extraction.py", "x = base(x, training=False)", "x = base(x)",
           ("build_transfer_model: base called with training=False",), (), "training=False"),
    Mutant("fine_tune_boundary_hard_coded", "fine_tuning.py", "if index < fine_tune_at or", "if index < 100 or",
           ("unfreeze_top: follows its argument",), (), "trainable"),
    Mutant("fine_tuning_rate_too_high", "fine_tuning.py", "optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate)",
           "optimizer=keras.optimizers.RMSprop(learning_rate=1e-3)",
           ("compile_for_fine_tuning: compile settings (optimizer",), (FINE_ACC,), "learning"),
    # Ignoring `learning_rate` for Adam's default went unseen: every profile's transfer rate is 0.001.
    Mutant("transfer_rate_ignored", "feature_extraction.py", "optimizer=keras.optimizers.Adam(learning_rate=learning_rate)",
           "optimizer=keras.optimizers.Adam()", ("compile_transfer_model: compile settings (optimizer",), (), "learning_rate=0.00037"),
    Mutant("transfer_dropout_hard_coded", "feature_extraction.py", "x = layers.Dropout(dropout)(x)", "x = layers.Dropout(0.2)(x)",
           ("build_transfer_model: follows its dropout argument",), (FROZEN_ACC,), "dropout=0.13"),
    Mutant("scratch_dropout_hard_coded", "scratch.py", "x = layers.Dropout(dropout)(x)", "x = layers.Dropout(0.5)(x)",
           ("build_scratch_cnn: follows its dropout argument",), SCRATCH_ACC, "hard-coded"),
    Mutant("no_preprocess_input", "feature_extraction.py", "    x = keras.applications.mobilenet_v2.preprocess_input(x)\n", "",
           ("build_transfer_model: layers in order",), (FROZEN_ACC,), "Expected"),
    Mutant("random_flip_default_mode", "augmentation.py", 'layers.RandomFlip("horizontal", seed=layer_seed(0))',
           "layers.RandomFlip(seed=layer_seed(0))", ("build_augmentation: horizontal flips only",), (), "vertical"),
    Mutant("augmentation_changes_images_at_inference", "augmentation.py", "            layers.RandomZoom(0.2, seed=layer_seed(2)),\n",
           "            layers.RandomZoom(0.2, seed=layer_seed(2)),\n            layers.Rescaling(1.0 / 255),\n",
           ("build_augmentation is the identity at inference", "build_augmentation works in tf.data and in a model"), (), "unchanged at training=False"),
    Mutant("dropout_missing", "scratch.py", "    if dropout > 0:\n        x = layers.Dropout(dropout)(x)\n", "",
           ("build_scratch_cnn: layers (with augmentation and dropout", "build_scratch_cnn: follows its dropout argument"), SCRATCH_ACC, "Dropout"),
    Mutant("extra_dense_layer", "scratch.py", '    x = layers.Dense(512, activation="relu")(x)\n',
           '    x = layers.Dense(512, activation="relu")(x)\n    x = layers.Dense(64, activation="relu")(x)\n',
           ("build_scratch_cnn: exact parameter counts", "build_scratch_cnn: layers"), SCRATCH_ACC, "Expected"),
    Mutant("early_stopping_on_accuracy", "fine_tuning.py", 'monitor="val_loss"', 'monitor="val_accuracy"',
           ("fine_tuning_callbacks",), (FINE_ACC,), "val_loss"),
    Mutant("early_stopping_without_restoring", "fine_tuning.py", "patience=patience, restore_best_weights=True", "patience=patience",
           ("fine_tuning_callbacks",), (FINE_ACC,), "restore_best_weights"),
    Mutant("tta_crops_in_wrong_order", "augmentation.py",
           "        images[:, :c, width - c :],\n        images[:, height - c :, :c],\n",
           "        images[:, height - c :, :c],\n        images[:, :c, width - c :],\n",
           ("ten_crops: corners, centre and mirrors in order",), (), "crop"),
    Mutant("tta_without_mirrors", "augmentation.py", "return np.stack(five + mirrored)", "return np.stack(five + five)",
           ("ten_crops: corners, centre and mirrors in order", "predict_with_tta averages the ten crops"), (), "mirror"),
    # (Features taken with `training=True` are no mistake in Keras 3: a frozen BatchNormalization
    # layer always runs in inference mode. Forgetting preprocess_input is the mistake students make.)
    Mutant("features_without_preprocess_input", "feature_extraction.py",
           "inputs = keras.applications.mobilenet_v2.preprocess_input(pixels)", "inputs = pixels",
           ("extract_features: the reference's features",), (), "preprocess_input"),
]


def test_catalogue_has_at_least_fifteen_distinct_mistakes():
    assert len(MUTANTS) >= 15
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutation_applies_to_the_reference(mutant, ctx):
    source = (ctx.solutions_dir / mutant.module).read_text()
    assert source.count(mutant.old) == 1, f"{mutant.name}: the edit no longer matches the reference"


def without_checks(grader, prefixes: tuple[str, ...]):
    """A copy of `grader` that skips the checks named by `prefixes` (its probes follow its checks)."""
    trimmed = copy.copy(grader)
    trimmed.checks = [c for c in grader.checks if not c.meta.name.startswith(prefixes)]
    return trimmed


def test_collateral_names_are_accuracy_checks_of_the_mutated_part(grader):
    for mutant in MUTANTS:
        named = [c for c in grader.checks if c.meta.name.startswith(mutant.collateral)] if mutant.collateral else []
        assert len(named) == len(mutant.collateral), mutant.name
        assert all(c.meta.part == mutant.part and "accuracy" in c.meta.name for c in named), mutant.name


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_on_the_intended_check_only(mutant, grader, ctx, tmp_path):
    folder = mutant.apply(ctx.solutions_dir, tmp_path / mutant.name)
    result = without_checks(grader, mutant.collateral).grade(folder, parts=(mutant.part,))
    checks = result.checks()
    intended = [c for c in checks if any(c.name.startswith(i) for i in mutant.intended)]
    assert intended, f"no check named {mutant.intended}"
    lost = [c for c in intended if not c.ok]
    assert lost, f"{mutant.name} kept full marks on {[c.name for c in intended]}"
    assert any(mutant.says.lower() in c.message.lower() for c in lost), [c.message for c in lost]
    if mutant.root_cause:  # a right function failed by another's mistake says which, in one line
        name, cause = mutant.root_cause
        (named,) = [c for c in lost if c.name.startswith(name)]
        assert named.message.startswith(cause) and len(named.message) < 400, named.message
    others = [c for c in checks if c not in intended and not any(c.name.startswith(a) for a in mutant.collateral)]
    unexpected = [f"{c.name}: {c.message[:200]}" for c in others if not c.ok]
    assert unexpected == [], f"{mutant.name} also lost points on unrelated checks"
