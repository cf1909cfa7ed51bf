"""Service settings: environment variables (FACEGEN_*) or a .env file; every one is in the README."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model_store import DEFAULT_STORE_PATH


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACEGEN_", env_file=".env", extra="ignore",
                                      protected_namespaces=())

    model_store: Path = Field(DEFAULT_STORE_PATH, description="folder of published models")
    model: str | None = Field(None, description="model name in the store (default: the store's default)")
    device: Literal["auto", "cuda", "cpu"] = "auto"
    engine: Literal["auto", "onnxruntime", "openvino"] = "auto"
    threads: int = Field(0, ge=0, description="CPU threads for inference (0 = all cores)")

    max_faces: int = Field(64, ge=1, le=1024, description="most faces in one /generate")
    max_steps: int = Field(64, ge=2, le=512, description="most frames in one /interpolate")
    max_upscale: int = Field(4, ge=1, le=8)

    batching: bool = Field(True, description="group concurrent requests into one engine call")
    max_batch: int = Field(64, ge=1, description="most faces in one engine call")
    max_wait_ms: float = Field(5.0, ge=0, description="how long a batch waits for more requests")
    max_queue: int = Field(1024, ge=1, description="most faces waiting; beyond it requests get 503")
    warmup: bool = True

    png_compress_level: int = Field(6, ge=0, le=9)
    jpeg_quality: int = Field(90, ge=1, le=100)
    webp_quality: int = Field(90, ge=1, le=100)

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
