"""Pictures of a run: the losses chart (as in the original report) and sample grids."""

import csv
from pathlib import Path

import torch
from PIL import Image

from model_store.pictures import grid, to_uint8


def grid_image(images: torch.Tensor, cols: int | None = None) -> Image.Image:
    """[N, 3, H, W] in [-1, 1] -> one RGB image laid out exactly as the service lays out its grids."""
    return Image.fromarray(grid(to_uint8(images.float().cpu().numpy()), cols))


def save_grid(images: torch.Tensor, path: Path, cols: int | None = None) -> None:
    grid_image(images, cols).save(path)


def plot_losses(metrics_csv: Path, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(metrics_csv) as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return
    steps = [int(r["step"]) for r in rows]
    fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(steps, [float(r["loss_g"]) for r in rows], label="G")
    ax_loss.plot(steps, [float(r["loss_d"]) for r in rows], label="D")
    ax_loss.set(title="Generator and discriminator loss during training", xlabel="iteration", ylabel="loss")
    ax_loss.legend()
    ax_d.plot(steps, [float(r["d_real"]) for r in rows], label="D(x)")
    ax_d.plot(steps, [float(r["d_fake"]) for r in rows], label="D(G(z))")
    ax_d.set(title="Discriminator outputs", xlabel="iteration", ylim=(0, 1))
    ax_d.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
