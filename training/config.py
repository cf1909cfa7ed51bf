"""Training settings: one dataclass, named presets, TOML config files, and command-line overrides.

Precedence: defaults < preset < config file < explicit flags.
"""

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA = "../shared/data/celeba/img_align_celeba"


@dataclass
class TrainConfig:
    # data
    data: str = DEFAULT_DATA
    image_size: int = 64
    holdout: int = 0  # last N images (sorted) kept out of training, for evaluation
    limit: int | None = None  # use only the first N training images (quick runs, tests)
    # networks
    nz: int = 200
    ngf: int = 64
    ndf: int = 64
    activation: str = "leaky_relu"  # block activation; "identity" reproduces the original's LeakyReLU(True)
    # optimisation
    epochs: int = 15
    batch_size: int = 64
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    wd_d: float = 0.0
    wd_g: float = 0.0
    beta1: float = 0.5
    beta2: float = 0.999
    optimizer_d: str = "adam"  # adam | sgd
    scheduler: str = "none"  # none | cosine (over the whole run)
    g_steps: int = 1  # generator steps per discriminator step
    # beyond the original (off by default; see README for what was measured)
    ema_decay: float = 0.0  # 0 disables the EMA generator; e.g. 0.999
    diffaugment: str = ""  # comma list of color,translation,cutout
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    # run
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    seed: int = 0
    workers: int = 0
    log_every: int = 10
    sample_every_epoch: bool = True
    logger: str = "none"  # none | tensorboard | wandb
    name: str = "run"
    runs_dir: str = "runs"
    device: str = "auto"  # auto | cpu | cuda
    preset: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, dict] = {
    # The original's published experiment.
    "seed": dict(lr_d=2e-4, lr_g=4e-4, wd_d=1e-4, scheduler="cosine", nz=200, activation="tanh",
                 epochs=15, batch_size=512),
    # The classic DCGAN recipe with our generator.
    "dcgan": dict(lr_d=2e-4, lr_g=2e-4, activation="leaky_relu", epochs=15, batch_size=128),
    # Seconds on a CPU: for tests and smoke runs.
    "tiny": dict(ngf=8, ndf=8, nz=16, epochs=1, batch_size=8, limit=32, log_every=1),
}

FIELD_NAMES = {f.name for f in dataclasses.fields(TrainConfig)}


def load_config_file(path: str | Path) -> dict:
    data = tomllib.loads(Path(path).read_text())
    unknown = set(data) - FIELD_NAMES
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {sorted(unknown)}")
    return data


def build_config(preset: str | None = None, config_file: str | None = None, **overrides) -> TrainConfig:
    values: dict = {}
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
        values.update(PRESETS[preset])
        values["preset"] = preset
    if config_file:
        values.update(load_config_file(config_file))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return validate(TrainConfig(**values))


def validate(cfg: TrainConfig) -> TrainConfig:
    from training.models import ACTIVATIONS  # local: keeps this module free of torch at import

    checks = [
        (cfg.activation in ACTIVATIONS, f"activation must be one of {ACTIVATIONS}"),
        (cfg.optimizer_d in ("adam", "sgd"), "optimizer_d must be adam or sgd"),
        (cfg.scheduler in ("none", "cosine"), "scheduler must be none or cosine"),
        (cfg.precision in ("auto", "fp32", "bf16", "fp16"), "precision must be auto, fp32, bf16 or fp16"),
        (cfg.g_steps >= 1, "g_steps must be >= 1"),
        (cfg.batch_size >= 2, "batch_size must be >= 2 (BatchNorm needs a batch)"),
        (cfg.epochs >= 1, "epochs must be >= 1"),
        (0.0 <= cfg.ema_decay < 1.0, "ema_decay must be in [0, 1)"),
        (0.0 <= cfg.label_smoothing < 0.5, "label_smoothing must be in [0, 0.5)"),
        (cfg.image_size >= 8 and cfg.image_size & (cfg.image_size - 1) == 0, "image_size must be a power of two >= 8"),
        (cfg.logger in ("none", "tensorboard", "wandb"), "logger must be none, tensorboard or wandb"),
        (cfg.device in ("auto", "cpu", "cuda"), "device must be auto, cpu or cuda"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    from training.augment import POLICIES

    for policy in filter(None, cfg.diffaugment.split(",")):
        if policy not in POLICIES:
            raise ValueError(f"unknown diffaugment policy {policy!r}; choose from {sorted(POLICIES)}")
    return cfg
