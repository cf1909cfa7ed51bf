"""A folder of published models: `<store>/<name>/model.json` + the files it lists, and which is default.

The store decides nothing about how a model runs; it lists, verifies (sha256) and opens versions.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from model_store.manifest import MANIFEST_FILE, NAME_PATTERN, FileEntry, Manifest, ManifestError

# The artifacts live beside this package's code, so a checkout serves its published model as is.
DEFAULT_STORE_PATH = Path(__file__).resolve().parent
STORE_FILE = "store.json"  # {"default": "<name>"}


class StoreError(RuntimeError):
    """A model that cannot be found, read or trusted; the message names the file."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path) -> FileEntry:
    return FileEntry(sha256=sha256_of(path), bytes=path.stat().st_size)


@dataclass(frozen=True)
class OpenedModel:
    manifest: Manifest
    folder: Path

    @property
    def model_path(self) -> Path:
        return self.folder / self.manifest.model_file

    @property
    def model_sha256(self) -> str:
        return self.manifest.files[self.manifest.model_file].sha256


class ModelStore:
    def __init__(self, root: Path | str = DEFAULT_STORE_PATH):
        self.root = Path(root)

    def _folder(self, name: str) -> Path:
        # Names come from settings and requests: only plain names, never a path out of the store.
        if not re.fullmatch(NAME_PATTERN, name):
            raise StoreError(f"invalid model name {name!r} (expected {NAME_PATTERN})")
        return self.root / name

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{MANIFEST_FILE}"))

    def manifests(self) -> list[Manifest]:
        """Every readable manifest in the store (unreadable ones are skipped; `open` reports them)."""
        out = []
        for name in self.names():
            try:
                out.append(Manifest.read(self._folder(name)))
            except ManifestError:
                continue
        return out

    def default_name(self) -> str:
        store_file = self.root / STORE_FILE
        if store_file.is_file():
            try:
                return str(json.loads(store_file.read_text())["default"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise StoreError(f"{store_file}: cannot read the default model: {exc!r}") from None
        names = self.names()
        if len(names) == 1:
            return names[0]
        if not names:
            raise StoreError(f"{self.root}: no published model (no */{MANIFEST_FILE})")
        raise StoreError(f"{self.root}: several models and no {STORE_FILE} naming the default: {names}")

    def set_default(self, name: str) -> None:
        self.manifest(name)  # refuse to point the default at something that is not there
        (self.root / STORE_FILE).write_text(json.dumps({"default": name}, indent=2) + "\n")

    def manifest(self, name: str) -> Manifest:
        try:
            return Manifest.read(self._folder(name))
        except ManifestError as exc:
            raise StoreError(str(exc)) from None

    def open(self, name: str | None = None, verify: bool = True) -> OpenedModel:
        """The manifest and folder of a model; with verify, every listed file's sha256 is checked."""
        name = name or self.default_name()
        folder = self._folder(name)
        manifest = self.manifest(name)
        if verify:
            for file_name, entry in manifest.files.items():
                path = folder / file_name
                if not path.is_file():
                    raise StoreError(f"{path}: file listed in the manifest is missing")
                actual = sha256_of(path)
                if actual != entry.sha256:
                    raise StoreError(
                        f"{path}: sha256 mismatch (manifest {entry.sha256[:12]}..., file {actual[:12]}...); "
                        "the file is corrupt or was replaced without republishing"
                    )
        return OpenedModel(manifest=manifest, folder=folder)
