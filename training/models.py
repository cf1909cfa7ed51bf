"""The networks: the CSPup generator and the DCGAN discriminator, as in the original notebook.

The original wrote `nn.LeakyReLU(True)`, which sets negative_slope=1.0: an identity. Here the block
activation is a setting; `identity` reproduces the original exactly, `leaky_relu` (slope 0.2) is ours.
"""

import math

import torch
from torch import nn

ACTIVATIONS = ("leaky_relu", "tanh", "relu", "identity")


def make_activation(name: str) -> nn.Module:
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "identity":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}")


class CSPup(nn.Module):
    """2C channels at HxW -> C channels at 2Hx2W: a cheap upsampled shortcut plus a conv main path."""

    def __init__(self, channels: int, activation: str = "leaky_relu"):
        super().__init__()
        c = channels
        self.shortcut = nn.ConvTranspose2d(c, c, 4, 2, 1, bias=False)
        self.main = nn.Sequential(
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
            make_activation(activation),
            nn.ConvTranspose2d(c, c, 4, 2, 1, bias=False),
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            make_activation(activation),
            nn.Conv2d(c, c, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut_half, main_half = x.chunk(2, dim=1)
        return self.shortcut(shortcut_half) + self.main(main_half)


def _depth(image_size: int) -> int:
    blocks = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (blocks + 2) != image_size:
        raise ValueError(f"image size must be a power of two >= 8, got {image_size}")
    return blocks


class Generator(nn.Module):
    """z [N, nz, 1, 1] -> image [N, 3, S, S] in [-1, 1]; 4x4 stem, then one CSPup per doubling."""

    def __init__(self, nz: int = 200, ngf: int = 64, image_size: int = 64, activation: str = "leaky_relu",
                 channels: int = 3):
        super().__init__()
        self.nz, self.ngf, self.image_size, self.activation = nz, ngf, image_size, activation
        blocks = _depth(image_size)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ngf * 2**blocks, 4, 1, 0, bias=False)]
        for i in reversed(range(blocks)):  # 64x64: CSPup(8ngf), CSPup(4ngf), CSPup(2ngf), CSPup(ngf)
            layers.append(CSPup(ngf * 2**i, activation))
        layers += [nn.Conv2d(ngf, channels, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """The standard DCGAN discriminator; returns logits [N] (the loss applies the sigmoid)."""

    def __init__(self, ndf: int = 64, image_size: int = 64, channels: int = 3):
        super().__init__()
        blocks = _depth(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for i in range(blocks - 1):  # 64x64: 64->128, 128->256, 256->512, each halving the size
            layers += [
                nn.Conv2d(ndf * 2**i, ndf * 2 ** (i + 1), 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2 ** (i + 1)),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers.append(nn.Conv2d(ndf * 2 ** (blocks - 1), 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_weights(module: nn.Module) -> None:
    """The DCGAN init the original used: conv N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, nz: int, batches: int = 32, batch_size: int = 64,
                          seed: int = 0) -> None:
    """Recompute BatchNorm running statistics as exact averages over fresh latents.

    Served faces come from eval mode. Running stats from training lag the weights (and do not exist for
    an EMA copy), so before export we re-estimate them with momentum=None (a cumulative average).
    """
    bns = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    device = next(generator.parameters()).device
    saved = [(bn.momentum) for bn in bns]
    was_training = generator.training
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    generator.train()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    for _ in range(batches):
        generator(torch.randn(batch_size, nz, 1, 1, generator=gen).to(device))
    for bn, momentum in zip(bns, saved, strict=True):
        bn.momentum = momentum
    generator.train(was_training)
