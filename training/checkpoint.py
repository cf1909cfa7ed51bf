"""Rebuild a trained generator from a run's checkpoint (for evaluate, export and sample)."""

from pathlib import Path

import torch

from training.config import TrainConfig
from training.models import Generator, recalibrate_batchnorm


def load_generator(checkpoint: str | Path, weights: str = "auto", recalibrate_bn: bool = False,
                   device: str = "cpu") -> tuple[Generator, TrainConfig, str]:
    """(generator in eval mode, its training config, which weights were taken: 'ema' or 'generator').

    weights="auto" takes the EMA copy when the run kept one. With recalibrate_bn, BatchNorm running
    statistics are re-estimated for these exact weights (needed for EMA weights; harmless otherwise).
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found")
    ckpt = torch.load(path, map_location=device, weights_only=False)
    cfg = TrainConfig(**ckpt["config"])
    if weights == "auto":
        weights = "ema" if ckpt.get("G_ema") is not None else "generator"
    if weights == "ema" and ckpt.get("G_ema") is None:
        raise ValueError(f"{path} has no EMA weights (the run used ema_decay=0)")
    if weights not in ("ema", "generator"):
        raise ValueError(f"weights must be auto, ema or generator, got {weights!r}")
    G = Generator(cfg.nz, cfg.ngf, cfg.image_size, cfg.activation).to(device)
    G.load_state_dict(ckpt["G_ema"] if weights == "ema" else ckpt["G"])
    if recalibrate_bn:
        recalibrate_batchnorm(G, cfg.nz, seed=cfg.seed)
    return G.eval(), cfg, weights


def training_info(checkpoint: str | Path) -> dict:
    """The run's summary.json (written beside the checkpoint every epoch), or {}."""
    summary = Path(checkpoint).parent / "summary.json"
    if summary.is_file():
        import json

        return json.loads(summary.read_text())
    return {}
