"""The published default model: it opens through model_store (sha256 checked) and makes real, varied faces."""

import numpy as np
import pytest

from model_store import ModelStore, latents_for_seeds

# Calibrated on the published model (see the README's Model section): a collapsed or noise generator
# falls far below these; the published one sits well above.
MIN_PIXEL_STD = 0.15  # per image, on the [-1, 1] output
MIN_MEAN_PAIRWISE_L2 = 40.0  # across 32 seeds, on [-1, 1] images of 3x64x64 values


@pytest.fixture(scope="module")
def faces():
    ort = pytest.importorskip("onnxruntime")
    opened = ModelStore().open()  # the default model, every file's sha256 verified
    manifest = opened.manifest
    assert manifest.training is not None and manifest.metrics, "published model lacks its training summary/metrics"
    session = ort.InferenceSession(str(opened.model_path), providers=["CPUExecutionProvider"])
    z = latents_for_seeds(range(32), manifest.architecture.latent_dim)
    images = session.run(None, {manifest.io.input.name: z})[0]
    assert images.shape == (32, 3, manifest.architecture.image_size, manifest.architecture.image_size)
    return images


def test_faces_are_not_flat(faces):
    stds = faces.reshape(len(faces), -1).std(axis=1)
    assert stds.min() > MIN_PIXEL_STD, stds.min()


def test_distinct_seeds_give_distinct_faces(faces):
    flat = faces.reshape(len(faces), -1).astype(np.float64)
    dists = np.sqrt(((flat[:, None, :] - flat[None, :, :]) ** 2).sum(-1))
    mean_pairwise = dists[np.triu_indices(len(flat), k=1)].mean()
    assert mean_pairwise > MIN_MEAN_PAIRWISE_L2, mean_pairwise
    assert dists[np.triu_indices(len(flat), k=1)].min() > 0.1 * mean_pairwise  # no two seeds the same face
