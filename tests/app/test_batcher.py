"""The micro-batcher on its own: grouping, batching off, splitting, cancelled clients."""

import asyncio
import threading

import numpy as np
import pytest

from app.batcher import MicroBatcher, Overloaded
from app.routes import ClientGone, unless_disconnected

pytestmark = pytest.mark.anyio


class CountingEngine:
    name, device = "counting", "cpu"

    def __init__(self, delay: float = 0.0):
        self.calls: list[int] = []
        self.delay = delay
        self.release = threading.Event()
        self.release.set()

    def padded_size(self, n, max_batch):
        return n

    def run(self, z):
        self.release.wait(5)
        self.calls.append(len(z))
        return z * 2


def latents(n, start=0):
    return np.arange(start, start + n, dtype=np.float32).reshape(n, 1, 1, 1)


async def test_groups_concurrent_requests_into_one_call():
    engine = CountingEngine()
    batcher = MicroBatcher(engine, max_batch=64, max_wait_ms=50)
    batcher.start()
    outs = await asyncio.gather(*(batcher.run(latents(4, 10 * i)) for i in range(5)))
    await batcher.stop()
    assert engine.calls == [20]
    for i, (out, batch_faces) in enumerate(outs):
        np.testing.assert_array_equal(out, latents(4, 10 * i) * 2)
        assert batch_faces == 20


async def test_batching_off_is_one_call_per_request():
    engine = CountingEngine()
    batcher = MicroBatcher(engine, max_batch=64, max_wait_ms=50, batching=False)
    batcher.start()
    await asyncio.gather(*(batcher.run(latents(3)) for _ in range(4)))
    await batcher.stop()
    assert engine.calls == [3, 3, 3, 3]


async def test_requests_above_max_batch_are_split():
    engine = CountingEngine()
    batcher = MicroBatcher(engine, max_batch=8, max_wait_ms=0)
    batcher.start()
    out, batch_faces = await batcher.run(latents(20))
    await batcher.stop()
    assert batch_faces == 8
    np.testing.assert_array_equal(out, latents(20) * 2)
    assert max(engine.calls) <= 8 and sum(engine.calls) == 20


async def test_queue_bound():
    engine = CountingEngine()
    engine.release.clear()  # hold the engine so the queue fills
    batcher = MicroBatcher(engine, max_batch=4, max_wait_ms=0, max_queue=8)
    batcher.start()
    first = asyncio.ensure_future(batcher.run(latents(4)))
    await asyncio.sleep(0.05)  # first batch is now inside the engine
    queued = [asyncio.ensure_future(batcher.run(latents(4))) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(Overloaded):
        await batcher.run(latents(1))
    engine.release.set()
    await asyncio.gather(first, *queued)
    await batcher.stop()


class FakeRequest:
    def __init__(self):
        self.gone = False

    async def is_disconnected(self):
        return self.gone


async def test_client_gone_is_not_computed():
    engine = CountingEngine()
    engine.release.clear()
    batcher = MicroBatcher(engine, max_batch=4, max_wait_ms=0)
    batcher.start()
    busy = asyncio.ensure_future(batcher.run(latents(4)))  # occupies the engine
    await asyncio.sleep(0.05)
    request = FakeRequest()
    waiting = asyncio.ensure_future(unless_disconnected(request, batcher.run(latents(2, 100))))
    await asyncio.sleep(0.05)
    request.gone = True
    with pytest.raises(ClientGone):
        await waiting
    engine.release.set()
    await busy
    await asyncio.sleep(0.05)
    await batcher.stop()
    assert engine.calls == [4], "the departed client's faces were computed"


async def test_padding_rows_are_computed_but_not_returned():
    class PowerOfTwoEngine(CountingEngine):
        def padded_size(self, n, max_batch):
            return 1 << (n - 1).bit_length()

    engine = PowerOfTwoEngine()
    batcher = MicroBatcher(engine, max_batch=64, max_wait_ms=0)
    batcher.start()
    out, batch_faces = await batcher.run(latents(5, 3))
    await batcher.stop()
    assert engine.calls == [8] and batch_faces == 5
    np.testing.assert_array_equal(out, latents(5, 3) * 2)
