"""Micro-batching: concurrent requests' latents go to the engine together, one call at a time.

A bounded queue (counted in faces) protects memory and latency: when it is full, `run` raises
Overloaded at once and the route answers 503 with Retry-After. Jobs whose client has gone away are
cancelled by the route and skipped here, so they are never computed.
"""

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger("facegen.batcher")


class Overloaded(RuntimeError):
    """The queue is full: try again shortly."""


@dataclass
class _Job:
    z: np.ndarray
    future: asyncio.Future
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class BatchStats:
    """What happened to one engine call; the service feeds these to metrics and logs."""

    faces: int
    requests: int
    engine_s: float


class MicroBatcher:
    def __init__(self, engine, max_batch: int = 64, max_wait_ms: float = 5.0, max_queue: int = 1024,
                 batching: bool = True, on_batch=None):
        self.engine = engine
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.batching = batching
        self.on_batch = on_batch or (lambda stats: None)
        self._jobs: deque[_Job] = deque()
        self._queued_faces = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def queued_faces(self) -> int:
        return self._queued_faces

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="facegen-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for job in self._jobs:
            if not job.future.done():
                job.future.set_exception(Overloaded("service is shutting down"))
        self._jobs.clear()
        self._queued_faces = 0

    async def run(self, z: np.ndarray) -> tuple[np.ndarray, int]:
        """Generator output for latents z [N, D, 1, 1], and the most faces an engine call held for them.

        N above max_batch is split into several jobs, admitted all together or not at all.
        """
        if self._queued_faces + len(z) > self.max_queue:
            raise Overloaded(f"queue full ({self._queued_faces} faces waiting)")
        parts = [z[i:i + self.max_batch] for i in range(0, len(z), self.max_batch)]
        futures = [self._enqueue(part) for part in parts]
        results = await asyncio.gather(*futures)
        return np.concatenate([out for out, _ in results]), max(size for _, size in results)

    def _enqueue(self, z: np.ndarray) -> asyncio.Future:
        job = _Job(z, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._queued_faces += len(z)
        self._wakeup.set()
        return job.future

    def _take_batch(self) -> list[_Job]:
        batch, faces = [], 0
        while self._jobs:
            job = self._jobs[0]
            if job.future.done():  # cancelled: the client went away before we got to it
                self._jobs.popleft()
                self._queued_faces -= len(job.z)
                continue
            if batch and (not self.batching or faces + len(job.z) > self.max_batch):
                break
            self._jobs.popleft()
            self._queued_faces -= len(job.z)
            batch.append(job)
            faces += len(job.z)
        return batch

    async def _loop(self) -> None:
        while True:
            if not self._jobs:
                self._wakeup.clear()
                await self._wakeup.wait()
            if self.batching and self.max_wait > 0:
                # Give concurrent requests a moment to join, unless the batch is already full.
                deadline = self._jobs[0].queued_at + self.max_wait
                while self._queued_faces < self.max_batch:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        break
                    self._wakeup.clear()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), remaining)
                    except TimeoutError:
                        break
            batch = self._take_batch()
            if not batch:
                continue
            z = np.concatenate([job.z for job in batch])
            n = len(z)
            size = self.engine.padded_size(n, self.max_batch)
            if size > n:  # padding rows keep each face's bytes independent of what else is in the batch
                z = np.concatenate([z, np.zeros((size - n, *z.shape[1:]), z.dtype)])
            started = time.perf_counter()
            try:
                out = await asyncio.to_thread(self.engine.run, z)
            except Exception as exc:  # noqa: BLE001 - delivered to every waiting request
                log.exception("engine call failed")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self.on_batch(BatchStats(faces=n, requests=len(batch), engine_s=time.perf_counter() - started))
            offset = 0
            for job in batch:
                k = len(job.z)
                if not job.future.done():
                    job.future.set_result((out[offset:offset + k], n))
                offset += k
