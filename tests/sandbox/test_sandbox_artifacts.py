"""Reading back a run's output folder as hostile data: JSON, .npz and .keras files."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

from autograder.sandbox.artifacts import (
    UntrustedArtifactError,
    list_artifacts,
    load_keras_model,
    read_bytes,
    read_json,
    read_npz,
)


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_json_round_trip(out):
    (out / "metrics.json").write_text(json.dumps({"accuracy": 0.9, "layers": ["conv", "dense"]}))
    assert read_json(out, "metrics.json") == {"accuracy": 0.9, "layers": ["conv", "dense"]}


def test_json_over_the_size_cap_is_refused(out):
    (out / "big.json").write_text(json.dumps(list(range(100_000))))
    with pytest.raises(UntrustedArtifactError, match=r"Expected at most 1000 bytes\. Received: name='big.json'"):
        read_json(out, "big.json", max_bytes=1000)


@pytest.mark.parametrize("text", ["{not json", '{"a": NaN}', "[" * 100_000 + "]" * 100_000])
def test_malformed_json_is_refused(out, text):
    (out / "bad.json").write_text(text)
    with pytest.raises(UntrustedArtifactError, match="Expected a JSON document"):
        read_json(out, "bad.json")


def test_symlink_to_a_grader_file_is_refused(out, tmp_path):
    secret = tmp_path / "grader_secret.json"
    secret.write_text('{"answer": 42}')
    (out / "metrics.json").symlink_to(secret)
    with pytest.raises(UntrustedArtifactError, match="reached without symlinks"):
        read_json(out, "metrics.json")


def test_symlinked_folder_is_refused(out, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "metrics.json").write_text("{}")
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UntrustedArtifactError):
        read_json(out, "sub/metrics.json")
    assert list_artifacts(out) == []


@pytest.mark.parametrize("name", ["../escape.json", "/etc/passwd", "a/../../b.json", ""])
def test_names_outside_the_folder_are_refused(out, name):
    with pytest.raises(UntrustedArtifactError, match="Expected a relative path inside the output folder"):
        read_bytes(out, name, max_bytes=100)


def test_fifo_is_refused_without_blocking(out):
    os.mkfifo(out / "pipe.json")
    with pytest.raises(UntrustedArtifactError, match="Expected a regular file"):
        read_json(out, "pipe.json")


def test_list_artifacts_lists_regular_files_only(out, tmp_path):
    (out / "a.json").write_text("{}")
    (out / "models").mkdir()
    (out / "models" / "m.keras").write_bytes(b"x")
    (out / "link.json").symlink_to(tmp_path)
    assert list_artifacts(out) == ["a.json", os.path.join("models", "m.keras")]


def test_npz_round_trip(out):
    np.savez_compressed(out / "features.npz", x=np.arange(12, dtype=np.float32).reshape(3, 4), y=np.array([0, 1, 1]))
    arrays = read_npz(out, "features.npz")
    assert arrays["x"].shape == (3, 4) and arrays["y"].tolist() == [0, 1, 1]


def test_npz_with_object_arrays_is_refused(out):
    np.savez(out / "pickled.npz", x=np.array([{"code": "os.system"}], dtype=object))
    with pytest.raises(UntrustedArtifactError, match="dtype=object"):
        read_npz(out, "pickled.npz")


def test_npz_with_a_lying_header_is_refused(out):
    # A header claiming 10^12 float64 values while storing none would make numpy allocate 8 TB.
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(out / "bomb.npz", "w") as archive:
        archive.writestr("x.npy", buffer.getvalue())
    with pytest.raises(UntrustedArtifactError, match="Expected array headers that match their data"):
        read_npz(out, "bomb.npz")


def test_npz_over_the_array_budget_is_refused(out):
    np.savez_compressed(out / "zeros.npz", x=np.zeros(1_000_000))
    assert (out / "zeros.npz").stat().st_size < 100_000  # compresses well: the cap is on loaded bytes
    with pytest.raises(UntrustedArtifactError, match="bytes of arrays"):
        read_npz(out, "zeros.npz", max_array_bytes=1_000_000)


def test_not_an_npz_is_refused(out):
    (out / "junk.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(UntrustedArtifactError, match="Expected a numpy .npz file"):
        read_npz(out, "junk.npz")


def test_keras_model_must_be_a_keras_archive(out):
    (out / "model.h5").write_bytes(b"\x89HDF")
    with pytest.raises(UntrustedArtifactError, match="Expected a file ending in .keras"):
        load_keras_model(out, "model.h5")
    (out / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(UntrustedArtifactError, match="Expected a .keras archive"):
        load_keras_model(out, "model.keras")


def test_keras_model_over_the_unpacked_cap_is_refused(out):
    with zipfile.ZipFile(out / "bomb.keras", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * 5_000_000)
    with pytest.raises(UntrustedArtifactError, match="unpacked bytes"):
        load_keras_model(out, "bomb.keras", max_unpacked_bytes=1_000_000)


def test_keras_model_loads_in_safe_mode_and_lambda_is_refused(out):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(out / "ok.keras")
    loaded = load_keras_model(out, "ok.keras")
    assert loaded.count_params() == model.count_params() and loaded.optimizer is not None

    hostile = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    hostile.save(out / "lambda.keras")
    with pytest.raises(UntrustedArtifactError, match="safe mode"):
        load_keras_model(out, "lambda.keras")
