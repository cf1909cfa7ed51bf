"""How generator output becomes pixels, and how faces tile into a grid.

Part of the contract: the service's grids and training's sample grids (samples.png) must be the same
pixels for the same seeds, so both sides use these two functions.
"""

import math

import numpy as np

GRID_PADDING = 2


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Generator output [N, 3, H, W] in [-1, 1] -> uint8 [N, H, W, 3], rounding half to even."""
    pixels = np.rint((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))


def grid(faces: np.ndarray, cols: int | None = None, padding: int = GRID_PADDING) -> np.ndarray:
    """uint8 faces [N, H, W, C] -> one image, row-major, near-square unless cols is given, black padding."""
    n, h, w, c = faces.shape
    cols = min(cols or math.ceil(math.sqrt(n)), n)
    rows = math.ceil(n / cols)
    canvas = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, c), np.uint8)
    for i, face in enumerate(faces):
        r, col = divmod(i, cols)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        canvas[y:y + h, x:x + w] = face
    return canvas
