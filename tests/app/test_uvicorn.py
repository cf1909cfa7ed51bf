"""The service as users run it: `facegen-serve` (uvicorn) in its own process, real HTTP on loopback."""

import asyncio
import io
import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from PIL import Image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(store):
    port = free_port()
    env = {**os.environ, "FACEGEN_MODEL_STORE": str(store), "FACEGEN_PORT": str(port), "FACEGEN_THREADS": "1",
           "FACEGEN_MAX_WAIT_MS": "10"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read()}")
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not become ready in 60 s")
    yield base
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    # One structured access line per request, with status, timing and the batch size.
    assert "method=POST path=/generate status=200" in out and "batch=" in out


def test_real_server_endpoints(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        r = c.post("/generate", params={"n": 16, "seed": 123})
        assert r.status_code == 200 and r.headers["x-seed"] == "123"
        assert Image.open(io.BytesIO(r.content)).size == (266, 266)
        gif = c.get("/interpolate", params={"seed_a": 1, "seed_b": 2, "steps": 8, "format": "gif"})
        assert gif.status_code == 200 and Image.open(io.BytesIO(gif.content)).n_frames == 8
        bad = c.post("/generate", params={"n": 1000})
        assert bad.status_code == 422 and "less than or equal to 64" in bad.text
        assert c.get("/healthz").json() == {"status": "ok"}
        assert "facegen_faces_generated_total" in c.get("/metrics").text


def test_real_server_concurrent_determinism(server):
    async def main():
        async with httpx.AsyncClient(base_url=server, timeout=60) as c:
            params = [{"n": n, "seed": s} for n, s in [(1, 5), (8, 50), (16, 500), (3, 7)]]
            alone = [(await c.post("/generate", params=p)).content for p in params]
            together = await asyncio.gather(*(c.post("/generate", params=p) for p in params * 4))
            return alone, [r.content for r in together]

    alone, together = asyncio.run(main())
    assert together == alone * 4


def test_real_server_client_disconnect_does_not_break_it(server):
    # A client that gives up mid-request must not hurt the service.
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{server}/generate", params={"n": 64, "seed": 9}, timeout=0.001)
    r = httpx.post(f"{server}/generate", params={"n": 2, "seed": 9}, timeout=30)
    face = np.asarray(Image.open(io.BytesIO(r.content)))
    assert r.status_code == 200 and face.std() > 0
