"""Attacks on what a grade rests on, each as a determined student would write it (issue #10).

Every submission here is the reference solution with hostile code appended to one module, and
is graded for real (sandbox, real images and weights, `ci` profile) on the checks the attack
targets. Each test failed on the design of commit 9aa54a1 and passes now:

- a symlinked artifact made the grader copy files as root (write and read);
- the hidden split's features were inside the sandbox, in label order (row-order oracle);
- the reference features of the probe images could be looked up instead of computed;
- weights trained in the sandbox (a pre-fitted head, a "pre-trained" scratch model) were kept;
- the measurements ran in the student's process and could be patched at import;
- a compile function could recognise the grader's probe model by name;
- an unusable object returned by `load_base` crashed the grader;
- the scratch part's worker could read the ImageNet weights.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

MODULES = ("augmentation.py", "scratch.py", "feature_extraction.py", "fine_tuning.py")

# Appended to a module, these read the worker's request (its argv[1]) like a student would.
REQUEST = '''
import json as _json, os as _os, sys as _sys
def _request():
    try:
        with open(_sys.argv[1]) as _f:
            return _json.load(_f)
    except Exception:
        return {}
_REQ = _request()
'''


def trimmed(grader, *prefixes: str):
    """A copy of `grader` running only the checks whose names start with `prefixes`."""
    copy_ = copy.copy(grader)
    copy_.checks = [c for c in grader.checks if c.meta.name.startswith(prefixes)]
    assert copy_.checks, prefixes
    return copy_


def submission(ctx, folder: Path, module: str, appended: str) -> Path:
    folder.mkdir(parents=True)
    for name in MODULES:
        shutil.copy(ctx.solutions_dir / name, folder / name)
    path = folder / module
    path.write_text(path.read_text() + "\n\n# --- hostile code ---\n" + appended)
    return folder


def by_name(result, prefix: str):
    found = [c for c in result.checks() if c.name.startswith(prefix)]
    assert found, f"no check named {prefix!r}: {[c.name for c in result.checks()]}"
    return found


def curve(result, name: str):
    return next(c for c in result.curves if c.name == name)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_symlinked_artifacts_neither_write_nor_read_through_the_grader(grader, ctx, tmp_path):
    """load_base returns another base, so the linear classifier is fitted a second time; the
    first run leaves `linear.npz` as a link to a victim file, the second replaces its own
    `linear.npz` by a link to the hidden labels. The old grader copied one onto the other as root."""
    victim = tmp_path / "victim" / "results.json"
    victim.parent.mkdir()
    victim.write_text('{"score": 42}')
    hidden_labels = grader.inputs.hidden / "labels.npz"
    before = digest(hidden_labels)
    hostile = REQUEST + f'''
import atexit as _atexit
_OUT = _REQ.get("out", "")
_AGAIN = "linear-own-base" in _REQ.get("inputs", "")

def load_base(input_shape, alpha=0.35, weights="imagenet"):
    base = keras.applications.MobileNetV2(input_shape=input_shape, alpha=alpha, include_top=False, weights=None)
    base.trainable = False
    return base

if _OUT and not _AGAIN:
    _os.symlink({str(victim)!r}, _os.path.join(_OUT, "linear.npz"))
if _OUT and _AGAIN:
    def _swap():
        target = _os.path.join(_OUT, "linear.npz")
        if _os.path.exists(target):
            _os.remove(target)
        _os.symlink({str(hidden_labels)!r}, target)
    _atexit.register(_swap)
'''
    folder = submission(ctx, tmp_path / "links", "feature_extraction.py", hostile)
    result = trimmed(grader, "load_base", "fit_linear_classifier").grade(folder, parts=("feature_extraction",))
    assert victim.read_text() == '{"score": 42}'
    assert digest(hidden_labels) == before
    (linear,) = by_name(result, "fit_linear_classifier")
    assert linear.score == 0, linear.message
    assert "cannot use" in linear.message or "symlink" in linear.message.lower(), linear.message


def test_no_hidden_data_row_order_or_feature_table_reaches_the_sandbox(grader, ctx, tmp_path, reference_result):
    """A classifier that scores from row order, features looked up in the worker's own inputs,
    and a head pre-fitted in the sandbox on the training features."""
    hostile = REQUEST + '''
import numpy as _np

class RowOrder:
    """Predicts dog for the second half of the rows: the old hidden features came cats first."""
    classes_ = _np.array([0, 1])

    def predict_proba(self, features):
        n = len(features)
        p = (_np.arange(n) >= n // 2).astype("float64")
        return _np.stack([1 - p, p], axis=1)

def fit_linear_classifier(features, labels):
    return RowOrder()

def _train_features():
    with _np.load(_os.path.join(_REQ.get("inputs", ""), "linear.npz")) as data:
        return data["train"], data["labels"]

def extract_features(base, images, batch_size=32):
    train, _ = _train_features()
    pick = _np.random.default_rng(1337).permutation(len(train))[: len(images)]
    return train[pick]  # the probe images were these training images, in this order

_build = build_transfer_model

def build_transfer_model(base, augmentation=None, dropout=0.2):
    from sklearn.linear_model import LogisticRegression
    model = _build(base, augmentation=augmentation, dropout=dropout)
    train, labels = _train_features()
    fitted = LogisticRegression(max_iter=2000).fit(train, labels)
    head = model.layers[-1]
    head.set_weights([fitted.coef_.T.astype("float32"), fitted.intercept_.astype("float32")])
    return model
'''
    folder = submission(ctx, tmp_path / "oracle", "feature_extraction.py", hostile)
    result = trimmed(
        grader, "fit_linear_classifier", "extract_features", "frozen base + head: hidden-test accuracy"
    ).grade(folder, parts=("feature_extraction",))
    (linear,) = by_name(result, "fit_linear_classifier")
    assert linear.score == 0, linear.message  # it cannot even be applied: no coefficients
    (features,) = by_name(result, "extract_features")
    assert features.score == 0, features.message
    # The pre-fitted head is re-initialised: the grader's training gives the reference's curve.
    assert curve(result, "frozen_base").history["loss"] == curve(reference_result, "frozen_base").history["loss"]
    assert curve(result, "frozen_base").accuracy == curve(reference_result, "frozen_base").accuracy


def test_pretrained_scratch_weights_are_replaced_by_the_graders(grader, ctx, tmp_path, reference_result):
    hostile = '''
_build_cnn = build_scratch_cnn

def build_scratch_cnn(input_shape, augmentation=None, dropout=0.0):
    model = _build_cnn(input_shape, augmentation=augmentation, dropout=dropout)
    for weight in model.weights:  # weights "trained" before hand-in
        weight.assign(weight * 0.0 + 0.01)
    return model
'''
    folder = submission(ctx, tmp_path / "pretrained", "scratch.py", hostile)
    result = trimmed(grader, "scratch convnet: hidden-test accuracy").grade(folder, parts=("scratch",))
    assert curve(result, "scratch").history["loss"] == curve(reference_result, "scratch").history["loss"]


def test_compile_function_that_recognises_the_probe_loses_its_points(grader, ctx, tmp_path):
    """Correct settings only for the grader's probe model; Adam 1e-3 for the model that trains.
    The module also tries to read the ImageNet weights, which the scratch worker must not see."""
    weights = next(Path(grader.inputs.settings["weights_file"]).parent.glob("*.h5"))
    hostile = f'''
import sys as _sys
try:
    open({str(weights)!r}, "rb").read(16)
    print("WEIGHTS READABLE", file=_sys.stderr)
except OSError:
    print("WEIGHTS HIDDEN", file=_sys.stderr)

_compile = compile_scratch_cnn

def compile_scratch_cnn(model):
    if model.name == "probe_dummy":
        return _compile(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model
'''
    folder = submission(ctx, tmp_path / "by_name", "scratch.py", hostile)
    result = trimmed(grader, "compile_scratch_cnn").grade(folder, parts=("scratch",))
    lost = [c for c in by_name(result, "compile_scratch_cnn") if not c.ok]
    assert lost, "the probe-detecting compile function kept its points"
    assert any("the grader trains" in c.message for c in lost), [c.message for c in lost]
    tail = result.parts[0].sandbox.output_tail
    assert "WEIGHTS HIDDEN" in tail and "WEIGHTS READABLE" not in tail, tail[-2000:]


def test_patching_the_measuring_code_at_import_gains_nothing(grader, ctx, tmp_path):
    """Not compiled again after unfreezing, with the training probe patched to compile first."""
    hostile = '''
import keras as _keras
import autograder.probes.training_probe as _probe_module
import autograder.checks.training_probe as _check_module

_real_run = _check_module.run_training_probe

def _patched(model, x, y, steps=2, **kwargs):
    model.compile(optimizer=_keras.optimizers.RMSprop(1e-5), loss="binary_crossentropy", metrics=["accuracy"])
    return _real_run(model, x, y, steps, **kwargs)

_probe_module.run_training_probe = _patched
_check_module.run_training_probe = _patched

def compile_for_fine_tuning(model, learning_rate=1e-5):
    return model  # the mistake: not compiled again after unfreezing
'''
    folder = submission(ctx, tmp_path / "patched", "fine_tuning.py", hostile)
    result = trimmed(
        grader, "compile_for_fine_tuning: compiled again", "fine-tuning: only the unfrozen layers move"
    ).grade(folder, parts=("fine_tuning",))
    for check in result.checks():
        assert check.score == 0, f"{check.name} kept {check.score}: {check.message}"
    (recompiled,) = by_name(result, "compile_for_fine_tuning: compiled again")
    assert "compile" in recompiled.message


def test_an_unusable_returned_object_costs_its_checks_not_the_grader(grader, ctx, tmp_path):
    hostile = '''
def load_base(input_shape, alpha=0.35, weights="imagenet"):
    return keras.Sequential([keras.layers.Dense(1)])  # never built
'''
    folder = submission(ctx, tmp_path / "unbuilt", "feature_extraction.py", hostile)
    result = trimmed(grader, "load_base", "fit_linear_classifier").grade(folder, parts=("feature_extraction",))
    assert [c for c in by_name(result, "load_base") if not c.ok]
    (linear,) = by_name(result, "fit_linear_classifier")
    assert linear.score == 0
