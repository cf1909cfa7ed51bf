import zipfile

import pytest
import torch

from training.data import DataError, list_images, load_faces, to_model_range


def test_reads_celeba_layout(few_faces):
    faces = load_faces(few_faces, 64)
    assert faces.images.shape == (24, 3, 64, 64) and faces.images.dtype == torch.uint8
    scaled = to_model_range(faces.images)
    assert scaled.min() >= -1 and scaled.max() <= 1


def test_reads_zip(tmp_path, few_faces):
    archive = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(few_faces.iterdir())[:5]:
            zf.write(path, f"img_align_celeba/{path.name}")
    faces = load_faces(archive, 32)
    assert faces.images.shape == (5, 3, 32, 32)
    torch.testing.assert_close(faces.images, load_faces(few_faces, 32, limit=5).images)


def test_holdout_split_is_disjoint(few_faces):
    train = load_faces(few_faces, 16, holdout=4, split="train")
    held = load_faces(few_faces, 16, holdout=4, split="holdout")
    assert len(train) == 20 and len(held) == 4
    torch.testing.assert_close(torch.cat([train.images, held.images]), load_faces(few_faces, 16).images)


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "nope")


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("no faces here")
    with pytest.raises(DataError, match="no images"):
        list_images(tmp_path)


def test_unreadable_image_is_skipped_and_counted(few_faces, caplog):
    (few_faces / "zzz_broken.jpg").write_bytes(b"not a jpeg")
    faces = load_faces(few_faces, 16)
    assert len(faces) == 24 and faces.skipped == 1
    assert "skipped 1 unreadable image" in caplog.text


def test_all_unreadable(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(DataError, match="could be read"):
        load_faces(tmp_path, 16)


@pytest.mark.parametrize("size", [0, 48, 100])
def test_wrong_image_size(few_faces, size):
    with pytest.raises(DataError, match="power of two"):
        load_faces(few_faces, size)
