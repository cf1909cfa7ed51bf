"""Training throughput, fp32 vs bf16 autocast, side by side in one process (images/s of full D+G steps).

    python bench/train_step.py [--ngf 64 32] [--batch 32] [--steps 3]

On CPUs without native bf16 (no AVX512-BF16/AMX, e.g. AVX2 AMD EPYC) bf16 autocast is emulated and
slower; `--precision auto` in training picks fp32 there.
"""

import argparse
import time

import torch

from training.config import build_config
from training.models import Discriminator, Generator, init_weights
from training.train import bce, cpu_has_native_bf16


def images_per_s(ngf: int, batch: int, steps: int, bf16: bool) -> float:
    cfg = build_config("seed", ngf=ngf, ndf=ngf)
    torch.manual_seed(0)
    G, D = Generator(cfg.nz, ngf, 64, cfg.activation), Discriminator(ngf, 64)
    G.apply(init_weights)
    D.apply(init_weights)
    opt_g = torch.optim.Adam(G.parameters(), cfg.lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), cfg.lr_d, betas=(0.5, 0.999), weight_decay=cfg.wd_d)
    real = torch.rand(batch, 3, 64, 64) * 2 - 1

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            fake = G(torch.randn(batch, cfg.nz, 1, 1))
            loss_d = bce(D(real), 1.0) + bce(D(fake.detach()), 0.0)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss_g = bce(D(fake), 1.0)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ngf", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    print(f"native bf16 on this CPU: {cpu_has_native_bf16()}; {torch.get_num_threads()} threads\n")
    print("| ngf=ndf | batch | fp32 images/s | bf16 images/s | bf16 / fp32 |")
    print("|---|---|---|---|---|")
    for ngf in args.ngf:
        fp32 = images_per_s(ngf, args.batch, args.steps, False)
        bf16 = images_per_s(ngf, args.batch, args.steps, True)
        print(f"| {ngf} | {args.batch} | {fp32:.1f} | {bf16:.1f} | {bf16 / fp32:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
