import numpy as np
import pytest

from training.evaluate import InceptionFeatures, fid, kid


def test_fid_and_kid_on_known_distributions():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 16))
    b = rng.standard_normal((500, 16))
    shifted = b + 1.0
    assert fid(a, a) == pytest.approx(0, abs=1e-6)
    assert fid(a, b) < 1.0
    # A mean shift of 1 in each of 16 dimensions adds exactly 16 to FID.
    assert fid(a, shifted) == pytest.approx(fid(a, b) + 16, rel=0.1)
    assert kid(a, b, subsets=10, subset_size=200)[0] < kid(a, shifted, subsets=10, subset_size=200)[0]


@pytest.mark.slow
def test_inception_features_real_faces(celeba_dir):
    from training.data import load_faces

    faces = load_faces(celeba_dir, 64, limit=8)
    feats = InceptionFeatures()(faces.images, batch=8)
    assert feats.shape == (8, 2048) and np.isfinite(feats).all() and feats.std() > 0
