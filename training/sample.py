"""`python -m training sample`: faces for seeds, from a checkpoint or a published model, as one grid."""

import argparse
from pathlib import Path

import numpy as np
import torch

from model_store.latents import MAX_SEED, latents_for_seeds


def parse_seeds(text: str) -> list[int]:
    """StyleGAN's syntax: '0-35', '1,5,9', '0-3,10'."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-", 1))
            if hi < lo:
                raise ValueError(f"seed range {part!r} runs backwards")
            seeds.extend(range(lo, hi + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise ValueError("no seeds given")
    if any(not 0 <= s <= MAX_SEED for s in seeds):
        raise ValueError(f"seeds must be in [0, {MAX_SEED}]")
    return seeds


def generate_onnx(model_path: Path, z: np.ndarray, batch: int = 64) -> np.ndarray:
    """Run an exported generator with onnxruntime on the CPU: float [N, 3, H, W] in [-1, 1]."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: z[i:i + batch]})[0] for i in range(0, len(z), batch)])


def generate(source: str, seeds: list[int], weights: str = "auto") -> torch.Tensor:
    """Faces for seeds from a checkpoint (.pt) or a published model folder; float [-1, 1] on the CPU."""
    path = Path(source)
    if path.is_dir():
        from model_store import ModelStore

        opened = ModelStore(path.parent).open(path.name)
        z = latents_for_seeds(seeds, opened.manifest.architecture.latent_dim)
        return torch.from_numpy(generate_onnx(opened.model_path, z))
    from training.checkpoint import load_generator
    from training.train import sample_images

    G, cfg, _ = load_generator(path, weights, recalibrate_bn=True)
    return sample_images(G, torch.from_numpy(latents_for_seeds(seeds, cfg.nz)))


def run(args) -> None:
    from training.charts import save_grid

    images = generate(args.source, parse_seeds(args.seeds), args.weights)
    save_grid(images, Path(args.out), cols=args.cols)
    print(f"wrote {args.out} ({len(images)} faces)")


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="a grid of faces for given seeds",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("source", help="runs/<name>/checkpoint.pt or a published folder model_store/<name>")
    p.add_argument("--seeds", default="0-63", help="seeds, e.g. 0-63 or 1,5,9")
    p.add_argument("--weights", default="auto", choices=["auto", "ema", "generator"])
    p.add_argument("--cols", type=int, help="grid columns (default near-square)")
    p.add_argument("--out", default="samples.png")
    p.set_defaults(func=run)
