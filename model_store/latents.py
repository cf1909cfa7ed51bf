"""The one rule that turns a seed into a latent, shared by training (sample grids) and serving.

A face is a pure function of (model version, seed):
    z = numpy.random.default_rng(seed).standard_normal(latent_dim) as float32.
`default_rng` is PCG64 seeded through SeedSequence, whose output numpy guarantees to keep stable
(NEP 19), so the rule is pinned by golden-value tests rather than by numpy's version.
"""

import numpy as np

MAX_SEED = 2**32 - 1


def latent_for_seed(seed: int, latent_dim: int) -> np.ndarray:
    """The latent vector of one seed: float32, shape [latent_dim]."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in [0, {MAX_SEED}], got {seed}")
    return np.random.default_rng(seed).standard_normal(latent_dim).astype(np.float32)


def latents_for_seeds(seeds, latent_dim: int) -> np.ndarray:
    """Latents of several seeds as the generator's input: float32 [N, latent_dim, 1, 1]."""
    rows = [latent_for_seed(int(s), latent_dim) for s in seeds]
    return np.stack(rows).reshape(len(rows), latent_dim, 1, 1)


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation between two latents for each t in [0, 1]: [len(t), *a.shape]."""
    t = np.asarray(t, dtype=np.float64).reshape(-1, *([1] * a.ndim))
    out = (1.0 - t) * a.astype(np.float64) + t * b.astype(np.float64)
    # End points are exactly a and b, so frame 0 and the last frame are those faces pixel for pixel.
    out[t.reshape(-1) == 0.0] = a
    out[t.reshape(-1) == 1.0] = b
    return out.astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (the usual GAN latent walk); falls back to lerp for parallel vectors."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    cos = np.dot(a64, b64) / (np.linalg.norm(a64) * np.linalg.norm(b64))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t)
    t = np.asarray(t, dtype=np.float64)
    wa = np.sin((1.0 - t) * omega) / np.sin(omega)
    wb = np.sin(t * omega) / np.sin(omega)
    out = wa[:, None] * a64[None, :] + wb[:, None] * b64[None, :]
    out[t == 0.0] = a64
    out[t == 1.0] = b64
    return out.reshape(len(t), *a.shape).astype(np.float32)
