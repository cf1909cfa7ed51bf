"""The training loop: BCE (non-saturating, with logits), Adam, optional EMA / DiffAugment / smoothing,
mixed precision, per-epoch checkpoints with exact resume, and DistributedDataParallel under torchrun.

A run folder `runs/<name>/` holds config.json, metrics.csv, losses.png, samples/epoch_NNN.png,
checkpoint.pt (latest epoch) and summary.json (what the manifest's training summary is made from).
"""

import copy
import csv
import json
import logging
import os
import platform
import random
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from model_store.latents import latents_for_seeds
from training.augment import diff_augment
from training.charts import plot_losses, save_grid
from training.config import TrainConfig
from training.data import load_faces, to_model_range
from training.models import Discriminator, Generator, init_weights

log = logging.getLogger(__name__)

METRIC_FIELDS = ["step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "lr_d", "lr_g", "images_per_s"]
SAMPLE_SEEDS = range(64)  # the fixed latents of every epoch's sample grid: seeds 0-63, as served


def cpu_has_native_bf16() -> bool:
    """bf16 autocast pays off only with AVX512-BF16 or AMX; on AVX2 CPUs it is several times slower."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda but torch sees no CUDA device")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits.float(), target))


class Logger:
    """metrics.csv always; TensorBoard or W&B when asked for and installed."""

    def __init__(self, run_dir: Path, cfg: TrainConfig, resume_step: int | None):
        self.path = run_dir / "metrics.csv"
        rows = []
        if resume_step is not None and self.path.exists():
            # Drop rows logged after the checkpoint we resume from, so the log matches the weights.
            with open(self.path) as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        with open(self.path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, METRIC_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        self.backend = None
        if cfg.logger == "tensorboard":
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise RuntimeError("logger=tensorboard needs the tensorboard package installed") from exc
            self.backend = SummaryWriter(str(run_dir / "tensorboard"))
        elif cfg.logger == "wandb":
            try:
                import wandb
            except ImportError as exc:
                raise RuntimeError("logger=wandb needs the wandb package installed") from exc
            self.backend = wandb.init(project="facegen", name=cfg.name, config=cfg.to_dict())

    def write(self, row: dict) -> None:
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, METRIC_FIELDS).writerow(row)
        if self.backend is None:
            return
        scalars = {k: v for k, v in row.items() if k not in ("step", "epoch")}
        if hasattr(self.backend, "add_scalar"):
            for key, value in scalars.items():
                self.backend.add_scalar(key, value, row["step"])
        else:
            self.backend.log(scalars, step=row["step"])

    def close(self) -> None:
        if self.backend is not None and hasattr(self.backend, "close"):
            self.backend.close()


def make_optimizers(cfg: TrainConfig, G, D, total_steps: int):
    opt_g = torch.optim.Adam(G.parameters(), cfg.lr_g, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.wd_g)
    if cfg.optimizer_d == "adam":
        opt_d = torch.optim.Adam(D.parameters(), cfg.lr_d, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.wd_d)
    else:
        opt_d = torch.optim.SGD(D.parameters(), cfg.lr_d, momentum=0.9, weight_decay=cfg.wd_d)
    if cfg.scheduler == "cosine":
        sched_g = torch.optim.lr_scheduler.CosineAnnealingLR(opt_g, T_max=total_steps)
        sched_d = torch.optim.lr_scheduler.CosineAnnealingLR(opt_d, T_max=total_steps)
    else:
        sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, lambda _: 1.0)
        sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, lambda _: 1.0)
    return opt_g, opt_d, sched_g, sched_d


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float, step: int) -> None:
    # Warm-up: early on the EMA follows the weights closely, else it averages in the random init.
    decay = min(decay, (1 + step) / (10 + step))
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach(), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)


def train(cfg: TrainConfig, resume: str | Path | None = None, stop_after_epoch: int | None = None,
          progress: bool = True) -> Path:
    """Train; return the run folder. `stop_after_epoch` ends early (as an interrupted run would)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = resolve_device(cfg.device)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    main = rank == 0
    precision = resolve_precision(cfg.precision, device)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    seed_everything(cfg.seed + rank)

    run_dir = Path(cfg.runs_dir) / cfg.name
    if main:
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")

    faces = load_faces(cfg.data, cfg.image_size, cfg.holdout, "train", cfg.limit)
    dataset = TensorDataset(faces.images)
    per_rank_batch = cfg.batch_size // world
    if per_rank_batch < 2:
        raise ValueError(f"batch_size {cfg.batch_size} over {world} processes leaves < 2 per process")
    steps_per_epoch = len(dataset) // world // per_rank_batch
    if steps_per_epoch == 0:
        raise ValueError(f"{len(dataset)} images are fewer than one batch of {cfg.batch_size}")
    total_steps = steps_per_epoch * cfg.epochs

    G = Generator(cfg.nz, cfg.ngf, cfg.image_size, cfg.activation)
    D = Discriminator(cfg.ndf, cfg.image_size)
    G.apply(init_weights)
    D.apply(init_weights)
    G.to(device)
    D.to(device)
    ema = copy.deepcopy(G).eval().requires_grad_(False) if cfg.ema_decay > 0 else None
    opt_g, opt_d, sched_g, sched_d = make_optimizers(cfg, G, D, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    start_epoch, step, wall_before = 0, 0, 0.0
    if resume:
        ckpt = torch.load(Path(resume), map_location=device, weights_only=False)
        G.load_state_dict(ckpt["G"])
        D.load_state_dict(ckpt["D"])
        if ema is not None and ckpt.get("G_ema") is not None:
            ema.load_state_dict(ckpt["G_ema"])
        opt_g.load_state_dict(ckpt["opt_g"])
        opt_d.load_state_dict(ckpt["opt_d"])
        sched_g.load_state_dict(ckpt["sched_g"])
        sched_d.load_state_dict(ckpt["sched_d"])
        scaler.load_state_dict(ckpt["scaler"])
        start_epoch, step, wall_before = ckpt["epoch"], ckpt["step"], ckpt.get("wall_time_s", 0.0)
        torch.set_rng_state(ckpt["rng"]["torch"][rank] if world > 1 else ckpt["rng"]["torch"][0])
        np.random.set_state(ckpt["rng"]["numpy"])
        random.setstate(ckpt["rng"]["python"])
        if main:
            log.info("resumed from %s at epoch %d, step %d", resume, start_epoch, step)

    G_train, D_train = G, D
    if world > 1:
        G_train, D_train = DistributedDataParallel(G), DistributedDataParallel(D)

    logger = Logger(run_dir, cfg, step if resume else None) if main else None
    autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype else nullcontext
    augment = (lambda x: diff_augment(x, cfg.diffaugment)) if cfg.diffaugment else (lambda x: x)
    real_target = 1.0 - cfg.label_smoothing
    sample_z = torch.from_numpy(latents_for_seeds(SAMPLE_SEEDS, cfg.nz)).to(device)
    started = time.perf_counter()
    window_start, window_images = time.perf_counter(), 0

    for epoch in range(start_epoch, cfg.epochs):
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed,
                                     drop_last=True)
        sampler.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=per_rank_batch, sampler=sampler, drop_last=True,
                            num_workers=cfg.workers)
        bar = None
        if main and progress:
            from tqdm import tqdm

            bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step")
        G_train.train()
        D_train.train()
        for (batch,) in loader:
            real = to_model_range(batch).to(device, non_blocking=True)
            n = real.shape[0]

            # Discriminator: real -> 1 (or 1 - smoothing), fake -> 0.
            z = torch.randn(n, cfg.nz, 1, 1, device=device)
            with autocast():
                fake = G_train(z)
                out_real = D_train(augment(real))
                out_fake = D_train(augment(fake.detach()))
                loss_d = bce(out_real, real_target) + bce(out_fake, 0.0)
            opt_d.zero_grad(set_to_none=True)
            scaler.scale(loss_d).backward()
            scaler.step(opt_d)

            # Generator: non-saturating loss, g_steps times per discriminator step.
            for k in range(cfg.g_steps):
                if k > 0:
                    with autocast():
                        fake = G_train(torch.randn(n, cfg.nz, 1, 1, device=device))
                with autocast():
                    loss_g = bce(D_train(augment(fake)), 1.0)
                opt_g.zero_grad(set_to_none=True)
                scaler.scale(loss_g).backward()
                scaler.step(opt_g)
            scaler.update()
            sched_g.step()
            sched_d.step()
            if ema is not None:
                update_ema(ema, G, cfg.ema_decay, step)
            step += 1
            window_images += n * world

            if main and (step % cfg.log_every == 0 or step == total_steps):
                now = time.perf_counter()
                row = {
                    "step": step, "epoch": epoch + 1,
                    "loss_d": round(loss_d.item(), 5), "loss_g": round(loss_g.item(), 5),
                    "d_real": round(torch.sigmoid(out_real.float()).mean().item(), 5),
                    "d_fake": round(torch.sigmoid(out_fake.float()).mean().item(), 5),
                    "lr_d": sched_d.get_last_lr()[0], "lr_g": sched_g.get_last_lr()[0],
                    "images_per_s": round(window_images / max(now - window_start, 1e-9), 2),
                }
                logger.write(row)
                window_start, window_images = now, 0
                if bar is not None:
                    bar.set_postfix(loss_d=row["loss_d"], loss_g=row["loss_g"], img_s=row["images_per_s"])
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()

        if main:
            exported = ema if ema is not None else G
            if cfg.sample_every_epoch or epoch + 1 == cfg.epochs:
                save_grid(sample_images(exported, sample_z), run_dir / "samples" / f"epoch_{epoch + 1:03d}.png")
            plot_losses(run_dir / "metrics.csv", run_dir / "losses.png")
        rng_torch = [torch.get_rng_state()]
        if world > 1:
            gathered = [None] * world
            dist.all_gather_object(gathered, torch.get_rng_state())
            rng_torch = gathered
        wall = wall_before + time.perf_counter() - started
        if main:
            torch.save({
                "G": G.state_dict(), "D": D.state_dict(), "G_ema": ema.state_dict() if ema else None,
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "sched_g": sched_g.state_dict(), "sched_d": sched_d.state_dict(), "scaler": scaler.state_dict(),
                "epoch": epoch + 1, "step": step, "config": cfg.to_dict(), "wall_time_s": wall,
                "rng": {"torch": rng_torch, "numpy": np.random.get_state(), "python": random.getstate()},
            }, run_dir / "checkpoint.pt.tmp")
            os.replace(run_dir / "checkpoint.pt.tmp", run_dir / "checkpoint.pt")
            summary = {
                "preset": cfg.preset, "data": faces.source, "images": len(dataset), "skipped": faces.skipped,
                "holdout": cfg.holdout, "epochs": epoch + 1, "iterations": step, "batch_size": cfg.batch_size,
                "wall_time_s": round(wall, 1), "hardware": f"{hardware_description(device)} x{world}",
                "precision": precision, "exported_weights": "ema" if ema is not None else "generator",
            }
            (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch:
            break

    if logger is not None:
        logger.close()
    if world > 1:
        dist.destroy_process_group()
    return run_dir


@torch.no_grad()
def sample_images(generator: torch.nn.Module, z: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """Eval-mode samples (as served: batch-independent BatchNorm), float in [-1, 1] on the CPU."""
    was_training = generator.training
    generator.eval()
    out = torch.cat([generator(z[i:i + batch]).float().cpu() for i in range(0, len(z), batch)])
    generator.train(was_training)
    return out
