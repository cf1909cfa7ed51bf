"""Faces from a folder (CelebA's img_align_celeba/ layout or any image tree) or a zip of them.

Each image: short side to `image_size`, centre crop, kept as uint8 [3, S, S]; scaled to [-1, 1] per batch.
Our sets fit in memory (8,000 faces at 64x64 are 98 MB), so they are decoded once and cached: on two
cores JPEG decoding would otherwise dominate a training step.
"""

import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


class DataError(ValueError):
    """The data path or its images cannot be used; the message says what to fix."""


def list_images(path: Path) -> list[str]:
    """Sorted image names inside a folder (recursive) or a zip; sorted so a holdout split is stable."""
    if not path.exists():
        raise DataError(f"data path {path} does not exist")
    if path.is_dir():
        names = [str(p.relative_to(path)) for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if Path(n).suffix.lower() in IMAGE_SUFFIXES]
    else:
        raise DataError(f"data path {path} is neither a folder nor a zip of images")
    if not names:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {path}")
    return sorted(names)


def to_square(image: Image.Image, size: int) -> np.ndarray:
    """Short side to `size` (antialiased), centre crop size x size, as uint8 HWC RGB."""
    image = image.convert("RGB")
    w, h = image.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((nw, nh), Image.BICUBIC, reducing_gap=None)
    left, top = (nw - size) // 2, (nh - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


@dataclass
class FaceSet:
    """Decoded faces as uint8 [N, 3, S, S] plus how many files could not be read."""

    images: torch.Tensor
    skipped: int
    source: str

    def __len__(self) -> int:
        return self.images.shape[0]


def load_faces(path: str | Path, image_size: int = 64, holdout: int = 0, split: str = "train",
               limit: int | None = None) -> FaceSet:
    """Decode a set of faces.

    split="train" takes all but the last `holdout` images (in sorted order), split="holdout" the last
    `holdout`, split="all" everything; `limit` then keeps the first `limit` of that split.
    """
    if image_size < 8 or image_size & (image_size - 1):
        raise DataError(f"image size must be a power of two >= 8, got {image_size}")
    path = Path(path)
    names = list_images(path)
    if holdout < 0 or holdout >= len(names):
        raise DataError(f"holdout {holdout} must be in [0, {len(names) - 1}] for {len(names)} images")
    if split == "train":
        names = names[: len(names) - holdout]
    elif split == "holdout":
        names = names[len(names) - holdout:]
    elif split != "all":
        raise ValueError(f"unknown split {split!r}")
    if limit is not None:
        names = names[:limit]

    zf = zipfile.ZipFile(path) if path.is_file() else None
    faces, skipped = [], 0
    try:
        for name in names:
            try:
                if zf is not None:
                    image = Image.open(io.BytesIO(zf.read(name)))
                else:
                    image = Image.open(path / name)
                faces.append(to_square(image, image_size))
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
                skipped += 1
                log.debug("skipping unreadable image %s: %s", name, exc)
    finally:
        if zf is not None:
            zf.close()
    if skipped:
        log.warning("skipped %d unreadable image(s) of %d under %s", skipped, len(names), path)
    if not faces:
        raise DataError(f"none of the {len(names)} images under {path} could be read")
    images = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).contiguous()
    return FaceSet(images=images, skipped=skipped, source=str(path))


def to_model_range(batch: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return batch.float().div_(127.5).sub_(1.0)

