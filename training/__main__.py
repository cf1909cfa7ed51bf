"""`python -m training train|evaluate|export|sample`: one job per command, like StyleGAN's tools."""

import argparse
import logging
import sys

from training.config import FIELD_NAMES, PRESETS, TrainConfig


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train the CSPup GAN; writes runs/<name>/",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), help="named recipe; 'seed' is the original's experiment")
    p.add_argument("--config", help="TOML file of settings (field names as below, with underscores)")
    p.add_argument("--resume", help="checkpoint.pt to continue from (same config)")
    p.add_argument("--stop-after-epoch", type=int, help="end after this epoch (resume later)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    defaults = TrainConfig()
    help_text = {
        "data": "folder of images (CelebA img_align_celeba/), or a zip of them",
        "holdout": "keep the last N images (sorted) out of training, for evaluation",
        "activation": "CSPup block activation: leaky_relu | tanh | relu | identity (= the original's LeakyReLU(True))",
        "ema_decay": "EMA of generator weights (0 = off); the EMA copy is what gets exported",
        "diffaugment": "DiffAugment policies, comma separated: color,translation,cutout",
        "precision": "auto (bf16 where the CPU/GPU has native bf16, fp16 on older GPUs) | fp32 | bf16 | fp16",
        "g_steps": "generator steps per discriminator step",
        "scheduler": "none | cosine (over the whole run)",
        "optimizer_d": "adam | sgd",
    }
    for name in sorted(FIELD_NAMES - {"preset", "extra"}):
        default = getattr(defaults, name)
        kind = type(default) if default is not None else int
        if kind is bool:
            p.add_argument(f"--{name.replace('_', '-')}", type=lambda s: s.lower() in ("1", "true", "yes"),
                           help=help_text.get(name), default=None)
        else:
            p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None,
                           help=(help_text.get(name, "") + f" (default {default!r})").strip())


def _run_train(args) -> None:
    from training.config import build_config
    from training.train import train

    overrides = {name: getattr(args, name) for name in FIELD_NAMES - {"preset", "extra"}}
    cfg = build_config(args.preset, args.config, **overrides)
    run_dir = train(cfg, resume=args.resume, stop_after_epoch=args.stop_after_epoch, progress=not args.no_progress)
    print(f"run folder: {run_dir}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    from training import evaluate, export, sample

    evaluate.add_parser(sub)
    export.add_parser(sub)
    sample.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            _run_train(args)
        else:
            args.func(args)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
