import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from model_store import Manifest, ModelStore
from training.config import build_config
from training.export import check_parity, export_onnx, publish
from training.models import Generator, init_weights, recalibrate_batchnorm
from training.train import train


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, celeba_dir):
    tmp = tmp_path_factory.mktemp("run")
    cfg = build_config("tiny", data=str(celeba_dir), runs_dir=str(tmp), name="t", limit=16, batch_size=8,
                       epochs=1, ema_decay=0.9)
    return train(cfg, progress=False)


@pytest.mark.parametrize("activation", ["leaky_relu", "tanh", "identity"])
def test_export_parity_several_batch_sizes(tmp_path, activation):
    torch.manual_seed(0)
    G = Generator(nz=16, ngf=8, activation=activation)
    G.apply(init_weights)
    recalibrate_batchnorm(G, 16, batches=2, batch_size=16)
    G.eval()
    path = tmp_path / "g.onnx"
    export_onnx(G, 16, path)
    assert check_parity(G, 16, path, batches=(1, 2, 7, 16)) < 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape) == ("z", ["N", 16, 1, 1])
    assert (out.name, out.shape) == ("image", ["N", 3, 64, 64])
    images = session.run(None, {"z": np.random.default_rng(0).standard_normal((5, 16, 1, 1), np.float32)})[0]
    assert images.min() >= -1 and images.max() <= 1


def test_publish_round_trip(tmp_path, tiny_run):
    from training.checkpoint import load_generator

    G, cfg, weights = load_generator(tiny_run / "checkpoint.pt", recalibrate_bn=True)
    assert weights == "ema"
    metrics = [dict(name="FID", value=123.4, generated=10, reference=10, reference_set="test", note="x")]
    store_root = tmp_path / "store"
    manifest = publish(G, cfg, weights, tiny_run / "checkpoint.pt", store_root / "tiny-model", "1.2.3", metrics,
                       make_default=True)
    opened = ModelStore(store_root).open()  # default + sha256 verified
    assert opened.manifest == manifest == Manifest.read(store_root / "tiny-model")
    assert set(manifest.files) == {"generator.onnx", "samples.png", "losses.png"}
    assert manifest.architecture.latent_dim == cfg.nz and manifest.io.input.shape == ["N", cfg.nz, 1, 1]
    assert manifest.training.iterations == 2 and manifest.training.exported_weights == "ema"
    assert manifest.training.images == 16 and manifest.metrics[0].value == 123.4
    assert json.loads((store_root / "store.json").read_text()) == {"default": "tiny-model"}
    # Republishing replaces the version atomically.
    publish(G, cfg, weights, tiny_run / "checkpoint.pt", store_root / "tiny-model", "1.2.4", [])
    assert ModelStore(store_root).open().manifest.version == "1.2.4"


def test_cli_sample_and_export(tmp_path, tiny_run):
    from training.__main__ import main

    assert main(["export", str(tiny_run / "checkpoint.pt"), "--out", str(tmp_path / "g.onnx")]) == 0
    assert main(["sample", str(tiny_run / "checkpoint.pt"), "--seeds", "0-5", "--out", str(tmp_path / "s.png")]) == 0
    from PIL import Image

    assert Image.open(tmp_path / "s.png").size == (3 * 66 + 2, 2 * 66 + 2)
    assert main(["export", str(tmp_path / "missing.pt")]) == 2


def test_parse_seeds():
    from training.sample import parse_seeds

    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10]
    with pytest.raises(ValueError):
        parse_seeds("5-1")
    with pytest.raises(ValueError):
        parse_seeds("-1")
