"""The contract between training and serving: manifests, the seed->latent rule, and the store itself.

Imports neither `training` nor `app`; needs only pydantic and numpy.
"""

from model_store.latents import latent_for_seed, latents_for_seeds, lerp, slerp
from model_store.manifest import Manifest, ManifestError
from model_store.store import DEFAULT_STORE_PATH, ModelStore, OpenedModel, StoreError

__all__ = [
    "DEFAULT_STORE_PATH",
    "Manifest",
    "ManifestError",
    "ModelStore",
    "OpenedModel",
    "StoreError",
    "latent_for_seed",
    "latents_for_seeds",
    "lerp",
    "slerp",
]
