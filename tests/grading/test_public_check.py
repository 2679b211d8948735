"""`course check` on a student's machine: the release and the weights only (no solutions, no data; the
whole kit in a fresh venv is tests/release/test_kit.py).

The public checks compare against `checks/reference.json`, a snapshot that `course release`
makes by running the lab's probes on the reference, on inputs made by grader code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from autograder.checks.tta import check_ten_crops
from autograder.grading.public import (
    SNAPSHOT,
    SnapshotError,
    SnapshotReference,
    coordinate_images,
    crop_boxes,
    cut_crops,
    prepare_public_inputs,
)


def test_crop_positions_rebuild_the_reference_crops(reference_lab):
    images = coordinate_images(2, 112)
    crops = reference_lab.augmentation.ten_crops(images.copy(), 96)
    boxes = crop_boxes(crops, 96)
    assert np.array_equal(cut_crops(images, boxes), crops)
    assert [b["mirrored"] for b in boxes] == [False] * 5 + [True] * 5
    assert (boxes[0]["top"], boxes[0]["left"]) == (0, 0) and (boxes[4]["top"], boxes[4]["left"]) == (8, 8)


def test_snapshot_crops_catch_a_wrong_order(reference_lab):
    images = coordinate_images(2, 112)
    crops = reference_lab.augmentation.ten_crops(images.copy(), 96)
    swapped = crops[[0, 2, 1, 3, 4, 5, 6, 7, 8, 9]]
    result = check_ten_crops(swapped, cut_crops(images, crop_boxes(crops, 96)))
    assert not result.ok and "top-right" in result.message and "bottom-left" in result.message


@pytest.fixture(scope="module")
def public_inputs(ctx):
    return prepare_public_inputs(ctx, "smoke")


def test_public_inputs_hold_no_real_images_or_labels(public_inputs):
    with np.load(public_inputs.worker / "tta.npz") as data:
        assert np.array_equal(data["images"], coordinate_images(2, 112))
    with np.load(public_inputs.hidden / "labels.npz") as data:
        assert data["test"].size == 0


def test_snapshot_serves_the_public_checks(ctx, public_inputs):
    reference = SnapshotReference.read(ctx.release_dir / "checks" / SNAPSHOT, "smoke", public_inputs)
    assert reference.scratch_150.counts.total == 3_453_121
    assert reference.base.counts.trainable == 0 and reference.base.counts.total > 0
    head = [row for row in reference.transfer_model.rows if row.trainable_params and not row.container]
    assert [row.kind for row in head] == ["Dense"]
    assert reference.ten_crops.shape == (10, 2, 96, 96, 3)
    from autograder.checks.result import CheckFailure

    with pytest.raises(CheckFailure, match="tta_per_crop"):
        reference.tta_per_crop  # noqa: B018  (a hidden check's data is not in the snapshot)


def test_snapshot_made_for_other_settings_is_refused_by_name(ctx, public_inputs, tmp_path):
    document = json.loads((ctx.release_dir / "checks" / SNAPSHOT).read_text())
    document["profiles"]["smoke"]["settings"]["fine_tune_at"] = 7
    edited = tmp_path / SNAPSHOT
    edited.write_text(json.dumps(document))
    with pytest.raises(SnapshotError, match=r"fine_tune_at: snapshot 7, course.yaml 100.*course release"):
        SnapshotReference.read(edited, "smoke", public_inputs)
    with pytest.raises(SnapshotError, match=r"profile 'nope'.*Received: profiles"):
        SnapshotReference.read(ctx.release_dir / "checks" / SNAPSHOT, "nope", public_inputs)
    with pytest.raises(SnapshotError, match="no such file"):
        SnapshotReference.read(tmp_path / "missing.json", "smoke", public_inputs)


def test_the_snapshot_keeps_data_never_a_model_or_a_large_array(ctx, tmp_path):
    """What the release may carry of a reference artifact: counts and rows of a model, crop positions,
    small arrays; a large array that is no crop of a public input is refused by name."""
    import keras

    from autograder.grading.public import public_reference_names, snapshot_entry

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    entry = snapshot_entry("head", model, tmp_path)
    assert entry["kind"] == "model" and entry["value"]["counts"] == {"total": 15, "trainable": 15, "non_trainable": 0}
    assert snapshot_entry("small", np.arange(6.0).reshape(2, 3), tmp_path)["value"]["shape"] == [2, 3]
    with pytest.raises(SnapshotError, match=r"`reference.features`.*at most 4,096 numbers.*shape \(16, 1280\)"):
        snapshot_entry("features", np.zeros((16, 1280), "float32"), tmp_path)
    np.savez(tmp_path / "tta.npz", images=coordinate_images(2, 112))
    crops = np.asarray(ctx.reference_modules("snapshot_test").augmentation.ten_crops(coordinate_images(2, 112), 96))
    entry = snapshot_entry("ten_crops", crops, tmp_path)
    assert entry["kind"] == "crops" and entry["value"]["images"] == "tta.npz" and len(entry["value"]["boxes"]) == 10
    # which values the public checks read: from their source, not from a hand-kept list
    texts = [p.read_text() for p in sorted((ctx.release_dir / "checks").glob("*.py"))]
    assert public_reference_names(texts) == ("base", "fine_tune_model", "scratch_150", "scratch_other", "ten_crops", "transfer_model")


def test_every_snapshot_value_is_a_probe_artifact(ctx):
    """The snapshot's values are the probes' artifacts (no lab function writes them): each profile
    holds exactly what the public checks read, and no model file or solution code."""
    document = json.loads((ctx.release_dir / "checks" / SNAPSHOT).read_text())
    from autograder.grading.fixtures import artifacts_of
    from autograder.probes.declare import LabProbes

    artifacts = artifacts_of(LabProbes.read(ctx.release_dir / "probes.py"))
    for name, values in document["profiles"].items():
        kept = set(values) - {"settings"}
        assert kept <= set(artifacts), name
        assert {values[k]["kind"] for k in kept} <= {"model", "crops", "array", "arrays", "json"}
        assert "weights_file" not in values["settings"], "a machine's path is no setting of the snapshot"
