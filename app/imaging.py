"""Faces (uint8 [N, H, W, 3]) to pictures: grids, strips, animations, in PNG/JPEG/WebP/GIF bytes."""

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from model_store.pictures import grid  # noqa: F401 - the grid layout is shared with training's samples.png

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


@dataclass(frozen=True)
class EncodeOptions:
    png_compress_level: int = 6
    jpeg_quality: int = 90
    webp_quality: int = 90


def upscale(faces: np.ndarray, factor: int, resample: str = "nearest") -> np.ndarray:
    if factor == 1:
        return faces
    if resample == "nearest":
        return faces.repeat(factor, axis=1).repeat(factor, axis=2)
    h, w = faces.shape[1:3]
    return np.stack([np.asarray(Image.fromarray(f).resize((w * factor, h * factor), Image.LANCZOS))
                     for f in faces])


def encode(pixels: np.ndarray, fmt: str, options: EncodeOptions) -> bytes:
    """One still image. WebP is lossless at quality 100, lossy below."""
    out = io.BytesIO()
    image = Image.fromarray(pixels)
    if fmt == "png":
        image.save(out, "PNG", compress_level=options.png_compress_level)
    elif fmt == "jpeg":
        image.save(out, "JPEG", quality=options.jpeg_quality)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=options.webp_quality, lossless=options.webp_quality >= 100)
    elif fmt == "gif":
        image.save(out, "GIF")
    else:
        raise ValueError(f"unsupported format {fmt!r}")
    return out.getvalue()


def encode_animation(frames: np.ndarray, fmt: str, fps: float, boomerang: bool, options: EncodeOptions) -> bytes:
    """Animated GIF or WebP of frames [N, H, W, 3], looping forever."""
    sequence = list(frames)
    if boomerang and len(sequence) > 2:
        sequence += sequence[-2:0:-1]
    images = [Image.fromarray(f) for f in sequence]
    out = io.BytesIO()
    duration = max(int(round(1000.0 / fps)), 20)
    if fmt == "gif":
        images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
    elif fmt == "webp":
        images[0].save(out, "WEBP", save_all=True, append_images=images[1:], duration=duration, loop=0,
                       quality=options.webp_quality, lossless=options.webp_quality >= 100)
    else:
        raise ValueError(f"format {fmt!r} cannot animate (use gif or webp)")
    return out.getvalue()
