import json

import pytest

from model_store import Manifest, ManifestError, ModelStore, StoreError
from model_store.manifest import IO, Architecture, OutputSpec, TensorSpec
from model_store.store import file_entry


def make_model(root, name="m1", payload=b"onnx-bytes", version="1.0.0"):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "generator.onnx").write_bytes(payload)
    manifest = Manifest(
        name=name, version=version,
        architecture=Architecture(latent_dim=8, ngf=4, image_size=64, activation="leaky_relu"),
        io=IO(input=TensorSpec(name="z", shape=["N", 8, 1, 1]),
              output=OutputSpec(name="image", shape=["N", 3, 64, 64])),
        files={"generator.onnx": file_entry(folder / "generator.onnx")},
    )
    manifest.write(folder)
    return manifest


def test_manifest_round_trip(tmp_path):
    written = make_model(tmp_path)
    read = Manifest.read(tmp_path / "m1")
    assert read == written
    assert read.ref == "m1@1.0.0"


def test_open_verifies_sha256(tmp_path):
    make_model(tmp_path)
    store = ModelStore(tmp_path)
    assert store.open().manifest.name == "m1"
    (tmp_path / "m1" / "generator.onnx").write_bytes(b"tampered")
    with pytest.raises(StoreError, match=r"generator.onnx: sha256 mismatch"):
        store.open("m1")


def test_missing_file_named(tmp_path):
    make_model(tmp_path)
    (tmp_path / "m1" / "generator.onnx").unlink()
    with pytest.raises(StoreError, match="generator.onnx: file listed in the manifest is missing"):
        ModelStore(tmp_path).open("m1")


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", "/abs", "UPPER", "x" * 80])
def test_names_cannot_leave_the_store(tmp_path, name):
    make_model(tmp_path)
    with pytest.raises(StoreError, match="invalid model name"):
        ModelStore(tmp_path).open(name)


def test_default_selection(tmp_path):
    make_model(tmp_path, "a")
    make_model(tmp_path, "b")
    store = ModelStore(tmp_path)
    with pytest.raises(StoreError, match="several models"):
        store.default_name()
    store.set_default("b")
    assert store.open().manifest.name == "b"
    with pytest.raises(StoreError):
        store.set_default("missing")


def test_empty_store(tmp_path):
    with pytest.raises(StoreError, match="no published model"):
        ModelStore(tmp_path).open()


def test_invalid_manifest_rejected(tmp_path):
    make_model(tmp_path)
    path = tmp_path / "m1" / "model.json"
    raw = json.loads(path.read_text())
    raw["io"]["input"]["shape"] = ["N", 9, 1, 1]
    path.write_text(json.dumps(raw))
    with pytest.raises(ManifestError, match="io.input.shape"):
        Manifest.read(tmp_path / "m1")
    raw["files"] = {"../escape": raw["files"]["generator.onnx"]}
    path.write_text(json.dumps(raw))
    with pytest.raises(ManifestError, match="plain name"):
        Manifest.read(tmp_path / "m1")
    path.write_text("{not json")
    with pytest.raises(StoreError, match="cannot read manifest"):
        ModelStore(tmp_path).open("m1")
