"""The manifest (`model.json`): what a published model is, how to call it, where it came from.

Validated when training writes it and when the service reads it, so both sides agree on one schema.
"""

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCHEMA_VERSION = 1
MANIFEST_FILE = "model.json"
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class ManifestError(ValueError):
    """A manifest that is missing, unreadable, or does not match the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Architecture(_Strict):
    family: str = "cspup-dcgan"
    latent_dim: int = Field(gt=0)
    ngf: int = Field(gt=0)
    image_size: int = Field(gt=0)
    channels: int = Field(default=3, gt=0)
    activation: Literal["leaky_relu", "tanh", "relu", "identity"]
    parameters: int | None = Field(default=None, ge=0)


class TensorSpec(_Strict):
    name: str
    shape: list[int | str]
    dtype: str = "float32"


class OutputSpec(TensorSpec):
    range: tuple[float, float] = (-1.0, 1.0)


class IO(_Strict):
    input: TensorSpec
    output: OutputSpec


class FileEntry(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class TrainingSummary(_Strict):
    preset: str | None = None
    data: str
    images: int = Field(ge=0)
    holdout: int = Field(default=0, ge=0)
    epochs: int = Field(ge=0)
    iterations: int = Field(ge=0)
    batch_size: int = Field(gt=0)
    wall_time_s: float = Field(ge=0)
    hardware: str
    precision: str = "fp32"
    exported_weights: Literal["ema", "generator"] = "generator"
    config: dict = Field(default_factory=dict)


class Metric(_Strict):
    name: str  # "FID", "KID", ...
    value: float
    std: float | None = None
    generated: int = Field(ge=0, description="generated faces measured (0 for a real-vs-real floor)")
    reference: int = Field(ge=0, description="real faces in the reference set")
    reference_set: str
    note: str = ""


class Manifest(_Strict):
    schema_version: int = SCHEMA_VERSION
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$")
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    description: str = ""
    architecture: Architecture
    io: IO
    model_file: str = "generator.onnx"
    files: dict[str, FileEntry]
    training: TrainingSummary | None = None
    metrics: list[Metric] = Field(default_factory=list)
    licence: str = ""

    @field_validator("files")
    @classmethod
    def _plain_file_names(cls, files: dict[str, FileEntry]) -> dict[str, FileEntry]:
        # File names are joined to the model's folder: they must never reach outside it.
        for name in files:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise ValueError(f"file name {name!r} must be a plain name inside the model folder")
        return files

    @model_validator(mode="after")
    def _consistent(self) -> "Manifest":
        if self.model_file not in self.files:
            raise ValueError(f"model_file {self.model_file!r} has no entry (sha256) in files")
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is not supported (expected {SCHEMA_VERSION})")
        shape = self.io.input.shape
        if len(shape) != 4 or shape[1:] != [self.architecture.latent_dim, 1, 1]:
            raise ValueError(f"io.input.shape must be [N, {self.architecture.latent_dim}, 1, 1], got {shape}")
        return self

    @property
    def ref(self) -> str:
        """name@version, as the service reports it (X-Model)."""
        return f"{self.name}@{self.version}"

    def write(self, folder: Path) -> Path:
        path = Path(folder) / MANIFEST_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        path = Path(folder) / MANIFEST_FILE
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ManifestError(f"{path}: manifest not found") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ManifestError(f"{path}: cannot read manifest: {exc}") from None
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ManifestError(f"{path}: invalid manifest: {exc}") from None
