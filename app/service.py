"""The face service: seeds or latent walks in, uint8 faces out, through the micro-batcher."""

import asyncio
import logging
import time

import numpy as np

from app.batcher import MicroBatcher
from app.metrics import Metrics
from app.settings import Settings
from model_store import OpenedModel, latents_for_seeds, lerp, slerp
from model_store.pictures import to_uint8

log = logging.getLogger("facegen.service")


class FaceService:
    def __init__(self, settings: Settings, model: OpenedModel, engine, metrics: Metrics):
        self.settings = settings
        self.model = model
        self.engine = engine
        self.metrics = metrics
        self.latent_dim = model.manifest.architecture.latent_dim
        self.batcher = MicroBatcher(engine, settings.max_batch, settings.max_wait_ms, settings.max_queue,
                                    settings.batching, on_batch=self._on_batch)
        self.ready = asyncio.Event()
        metrics.queue_depth.set_function(lambda: self.batcher.queued_faces)
        self._warmup_task: asyncio.Task | None = None

    def _on_batch(self, stats) -> None:
        self.metrics.record_batch(stats)

    async def start(self) -> None:
        self.batcher.start()
        if self.settings.warmup:
            self._warmup_task = asyncio.create_task(self._warm_up())
        else:
            self.ready.set()

    async def stop(self) -> None:
        if self._warmup_task is not None:
            self._warmup_task.cancel()
        await self.batcher.stop()

    async def _warm_up(self) -> None:
        # One engine call per common size, so the first real requests do not pay for allocation/tuning.
        # Straight to the engine: no request is admitted before ready, and the queue bound must not apply.
        started = time.perf_counter()
        try:
            for n in sorted({1, min(16, self.settings.max_batch), self.settings.max_batch}):
                await asyncio.to_thread(self.engine.run, np.zeros((n, self.latent_dim, 1, 1), np.float32))
        except Exception:
            log.exception("warm-up failed: the model does not run; /readyz stays 503")
            raise
        self.ready.set()
        log.info("model %s warmed up in %.2fs on %s/%s; ready", self.model.manifest.ref,
                 time.perf_counter() - started, self.engine.name, self.engine.device)

    async def _faces_for(self, z: np.ndarray) -> tuple[np.ndarray, int]:
        images, batch_faces = await self.batcher.run(z)
        return to_uint8(images), batch_faces

    async def faces(self, seeds) -> tuple[np.ndarray, int]:
        """uint8 [N, H, W, 3], one face per seed, and the size of the engine call that made them."""
        return await self._faces_for(latents_for_seeds(seeds, self.latent_dim))

    async def walk(self, seed_a: int, seed_b: int, steps: int, method: str) -> tuple[np.ndarray, int]:
        """uint8 frames from face a to face b; frame 0 and the last frame are exactly those faces."""
        a, b = latents_for_seeds([seed_a, seed_b], self.latent_dim)
        interpolate = slerp if method == "slerp" else lerp
        z = interpolate(a, b, np.linspace(0.0, 1.0, steps))
        return await self._faces_for(np.ascontiguousarray(z))
