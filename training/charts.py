"""Pictures of a run: the losses chart (as in the original report) and sample grids."""

import csv
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from training.data import to_uint8


def grid_image(images: torch.Tensor, cols: int | None = None, padding: int = 2) -> Image.Image:
    """[N, 3, H, W] in [-1, 1] -> one RGB image, row-major, near-square."""
    pixels = to_uint8(images).permute(0, 2, 3, 1).numpy()
    n, h, w, _ = pixels.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, 3), np.uint8)
    for i, face in enumerate(pixels):
        r, c = divmod(i, cols)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        canvas[y:y + h, x:x + w] = face
    return Image.fromarray(canvas)


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
