from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CELEBA = REPO.parent / "shared" / "data" / "celeba" / "img_align_celeba"


@pytest.fixture(scope="session")
def celeba_dir() -> Path:
    if not CELEBA.is_dir():
        pytest.fail(f"real faces expected at {CELEBA} (../shared beside the checkout)")
    return CELEBA


@pytest.fixture
def few_faces(tmp_path, celeba_dir) -> Path:
    """A folder with 24 real faces copied from ../shared (the tiny training tests read these)."""
    import shutil

    folder = tmp_path / "faces"
    folder.mkdir()
    for path in sorted(celeba_dir.glob("*.jpg"))[:24]:
        shutil.copy(path, folder / path.name)
    return folder
