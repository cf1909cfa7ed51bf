"""The HTTP API in-process (httpx over ASGITransport), on a real ONNX model and the real engine."""

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from app.main import create_app
from tests.app.conftest import running

pytestmark = pytest.mark.anyio


def pixels(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))


def cell(grid: np.ndarray, index: int, cols: int, size: int = 64, pad: int = 2) -> np.ndarray:
    r, c = divmod(index, cols)
    y, x = pad + r * (size + pad), pad + c * (size + pad)
    return grid[y:y + size, x:x + size]


async def test_generate_grid_png(client):
    r = await client.post("/generate", params={"n": 16, "seed": 123})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-seed"] == "123" and r.headers["x-model"] == "tiny@0.0.1"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["etag"].startswith('"')
    grid = pixels(r.content)
    assert grid.shape == (4 * 66 + 2, 4 * 66 + 2, 3)
    # Faces are seeds 123..138 row-major, each the same as fetched alone.
    for i in (0, 5, 15):
        face = pixels((await client.get(f"/faces/{123 + i}")).content)
        np.testing.assert_array_equal(cell(grid, i, 4), face)
    assert not np.array_equal(cell(grid, 0, 4), cell(grid, 1, 4))


async def test_same_request_same_bytes_and_server_drawn_seed(client):
    a = await client.post("/generate", params={"n": 4, "seed": 7})
    b = await client.post("/generate", params={"n": 4, "seed": 7})
    assert a.content == b.content
    drawn = await client.post("/generate", params={"n": 4})
    assert drawn.status_code == 200 and drawn.headers["cache-control"] == "no-store"
    seed = int(drawn.headers["x-seed"])
    again = await client.post("/generate", params={"n": 4, "seed": seed})
    assert again.content == drawn.content


async def test_cols_and_upscale(client):
    r = await client.post("/generate", params={"n": 6, "seed": 1, "cols": 6, "upscale": 2})
    assert pixels(r.content).shape == (128 + 4, 6 * 130 + 2, 3)
    r = await client.post("/generate", params={"n": 5, "seed": 1})  # near-square: 3 columns, 2 rows
    assert pixels(r.content).shape == (2 * 66 + 2, 3 * 66 + 2, 3)
    big = pixels((await client.get("/faces/9", params={"upscale": 3, "resample": "lanczos"})).content)
    assert big.shape == (192, 192, 3)


@pytest.mark.parametrize("fmt,media,pil", [("jpeg", "image/jpeg", "JPEG"), ("webp", "image/webp", "WEBP"),
                                           ("png", "image/png", "PNG")])
async def test_formats(client, fmt, media, pil):
    r = await client.post("/generate", params={"n": 2, "seed": 0, "format": fmt})
    assert r.headers["content-type"] == media
    assert Image.open(io.BytesIO(r.content)).format == pil


async def test_accept_header_negotiation(client):
    r = await client.get("/faces/1", headers={"Accept": "text/html;q=0.9, image/webp, image/png;q=0.5"})
    assert r.headers["content-type"] == "image/webp"
    r = await client.get("/faces/1", headers={"Accept": "*/*"})
    assert r.headers["content-type"] == "image/png"


async def test_json_lists_seeds_and_urls(client):
    r = await client.post("/generate", params={"n": 3, "seed": 40, "format": "json"})
    body = r.json()
    assert [f["seed"] for f in body["faces"]] == [40, 41, 42]
    face = await client.get(body["faces"][2]["url"])
    assert face.status_code == 200 and face.headers["x-seed"] == "42"


@pytest.mark.parametrize("path,params,message", [
    ("/generate", {"n": 0}, "greater than or equal to 1"),
    ("/generate", {"n": 65}, "less than or equal to 64"),
    ("/generate", {"n": "many"}, "valid integer"),
    ("/generate", {"seed": -1}, "greater than or equal to 0"),
    ("/generate", {"seed": 2**32}, "less than or equal to 4294967295"),
    ("/generate", {"seed": 2**32 - 2, "n": 4}, "seed + n - 1 must be < 2**32"),
    ("/generate", {"format": "bmp"}, "'png', 'jpeg', 'webp' or 'json'"),
    ("/generate", {"cols": 0}, "greater than or equal to 1"),
    ("/generate", {"upscale": 5}, "less than or equal to 4"),
    ("/generate", {"resample": "cubic"}, "'nearest' or 'lanczos'"),
])
async def test_generate_rejects_bad_input(client, path, params, message):
    r = await client.post(path, params=params)
    assert r.status_code == 422
    assert message in r.text


@pytest.mark.parametrize("path,message", [
    ("/faces/-1", "seed must be in"),
    ("/faces/4294967296", "seed must be in"),
    ("/faces/abc", "valid integer"),
    ("/faces/1?format=tiff", "'png', 'jpeg' or 'webp'"),
    ("/interpolate?seed_a=1", "seed_b"),
    ("/interpolate?seed_a=1&seed_b=2&steps=1", "greater than or equal to 2"),
    ("/interpolate?seed_a=1&seed_b=2&steps=65", "less than or equal to 64"),
    ("/interpolate?seed_a=1&seed_b=2&method=cubic", "'slerp' or 'linear'"),
    ("/interpolate?seed_a=1&seed_b=2&fps=0", "greater than 0"),
    ("/interpolate?seed_a=1&seed_b=2&format=png&animate=true", "cannot animate"),
])
async def test_get_endpoints_reject_bad_input(client, path, message):
    r = await client.get(path)
    assert r.status_code == 422
    assert message in r.text


async def test_wrong_method_and_path(client):
    assert (await client.get("/generate")).status_code == 405
    assert (await client.get("/nope")).status_code == 404


async def test_etag_304(client):
    r = await client.post("/generate", params={"n": 4, "seed": 5})
    etag = r.headers["etag"]
    again = await client.post("/generate", params={"n": 4, "seed": 5}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = await client.post("/generate", params={"n": 4, "seed": 5, "format": "jpeg"},
                              headers={"If-None-Match": etag})
    assert other.status_code == 200
    face = await client.get("/faces/5")
    assert (await client.get("/faces/5", headers={"If-None-Match": face.headers["etag"]})).status_code == 304


async def test_304_does_not_run_the_model(client, settings):
    app = create_app(settings)
    async with running(app) as c:
        first = await c.get("/faces/77")
        before = app.state.metrics.faces._value.get()
        assert (await c.get("/faces/77", headers={"If-None-Match": first.headers["etag"]})).status_code == 304
        assert app.state.metrics.faces._value.get() == before


@pytest.mark.parametrize("method", ["slerp", "linear"])
async def test_interpolation_end_frames_are_the_faces(client, method):
    r = await client.get("/interpolate", params={"seed_a": 11, "seed_b": 12, "steps": 6, "method": method})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    strip = pixels(r.content)
    assert strip.shape == (68, 6 * 66 + 2, 3)
    face_a = pixels((await client.get("/faces/11")).content)
    face_b = pixels((await client.get("/faces/12")).content)
    np.testing.assert_array_equal(cell(strip, 0, 6), face_a)
    np.testing.assert_array_equal(cell(strip, 5, 6), face_b)
    assert not np.array_equal(cell(strip, 2, 6), face_a)


async def test_interpolation_animations(client):
    gif = await client.get("/interpolate", params={"seed_a": 1, "seed_b": 2, "steps": 5, "format": "gif",
                                                   "fps": 10, "boomerang": True})
    image = Image.open(io.BytesIO(gif.content))
    assert gif.headers["content-type"] == "image/gif" and image.n_frames == 8  # 5 forward + 3 back
    assert image.info["duration"] == 100
    webp = await client.get("/interpolate", params={"seed_a": 1, "seed_b": 2, "steps": 4, "format": "webp",
                                                    "animate": True})
    assert Image.open(io.BytesIO(webp.content)).n_frames == 4
    strip = await client.get("/interpolate", params={"seed_a": 1, "seed_b": 2, "steps": 4, "format": "webp"})
    assert Image.open(io.BytesIO(strip.content)).n_frames == 1


async def test_models_health_ready_metrics_index(client):
    models = (await client.get("/models")).json()
    assert models["serving"] == "tiny@0.0.1"
    assert models["models"][0]["files"]["generator.onnx"]["sha256"]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["device"] == "cpu"
    await client.post("/generate", params={"n": 3, "seed": 1})
    text = (await client.get("/metrics")).text
    assert 'facegen_requests_total{method="POST",route="/generate",status="200"}' in text
    for name in ("facegen_request_duration_seconds_bucket", "facegen_faces_generated_total",
                 "facegen_batch_faces_bucket", "facegen_queue_faces"):
        assert name in text
    assert "/docs" in (await client.get("/")).text
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert {"/generate", "/faces/{seed}", "/interpolate", "/models"} <= set(spec["paths"])


async def test_not_ready_until_warmed_up(settings):
    app = create_app(settings)  # lifespan not started: no warm-up yet
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert (await c.get("/healthz")).status_code == 200
        busy = await c.post("/generate", params={"seed": 1})
        assert busy.status_code == 503 and "warming up" in busy.text


async def test_concurrent_mixed_load_is_deterministic(settings):
    settings.max_wait_ms = 20  # make batches mix requests
    app = create_app(settings)
    async with running(app) as c:
        requests = [("/generate", {"n": n, "seed": s}) for n, s in [(1, 0), (16, 3), (5, 100), (64, 7), (2, 1)]]
        requests += [("/faces/3", {}), ("/faces/18", {}), ("/generate", {"n": 9, "seed": 10, "format": "webp"})]
        alone = [(await c.post(p, params=q) if p == "/generate" else await c.get(p)).content for p, q in requests]
        mixed = await asyncio.gather(*[c.post(p, params=q) if p == "/generate" else c.get(p)
                                       for p, q in requests * 3])
        assert [r.content for r in mixed] == alone * 3
        text = (await c.get("/metrics")).text
        # Some engine call grouped several requests.
        assert "facegen_batch_requests_bucket" in text
        counts = app.state.metrics.batch_requests.collect()[0].samples
        grouped = {s.labels.get("le"): s.value for s in counts if s.name.endswith("_bucket")}
        assert grouped["1.0"] < grouped["+Inf"]


async def test_overload_gets_503_with_retry_after(settings):
    settings.max_queue = 8
    settings.max_wait_ms = 300
    settings.max_batch = 64
    app = create_app(settings)
    async with running(app) as c:
        results = await asyncio.gather(*[c.post("/generate", params={"n": 4, "seed": i}) for i in range(8)])
        codes = sorted(r.status_code for r in results)
        assert codes.count(200) >= 2 and 503 in codes and 500 not in codes
        refused = next(r for r in results if r.status_code == 503)
        assert refused.headers["retry-after"] == "1" and "server busy" in refused.json()["detail"]
        assert app.state.metrics.rejected._value.get() >= 1
