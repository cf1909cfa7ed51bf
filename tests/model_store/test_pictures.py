import numpy as np

from model_store.pictures import grid, to_uint8


def test_rounding_and_layout_of_generator_output():
    images = np.array([-2.0, -1.0, 0.0, 1.0, 1.5, 0.5 / 127.5], np.float32).reshape(1, 1, 1, 6).repeat(3, 1)
    pixels = to_uint8(images)
    assert pixels.shape == (1, 1, 6, 3) and pixels.dtype == np.uint8
    # clipped, scaled, rounded half to even (128.0 + 0.5 -> 128)
    assert pixels[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255, 128]


def test_grid_is_row_major_near_square_with_padding():
    faces = np.stack([np.full((4, 4, 3), i + 1, np.uint8) for i in range(5)])
    canvas = grid(faces)
    assert canvas.shape == (2 * 6 + 2, 3 * 6 + 2, 3)  # 5 faces -> 3 columns, 2 rows
    assert canvas[2, 2, 0] == 1 and canvas[2, 8, 0] == 2 and canvas[8, 2, 0] == 4
    assert canvas[0, 0, 0] == 0 and canvas[1, :, :].max() == 0  # black padding
    assert grid(faces, cols=10).shape == (6 + 2, 5 * 6 + 2, 3)  # never more columns than faces
