"""HTTP routes: thin; validation here, work in FaceService, pictures in imaging."""

import asyncio
import hashlib
import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from app import imaging
from app.batcher import Overloaded
from app.settings import Settings
from model_store import ModelStore
from model_store.latents import MAX_SEED

SeedQuery = Annotated[int | None, Query(ge=0, le=MAX_SEED, description="first seed; omitted: the server draws one",
                                        examples=[123])]
IMMUTABLE = "public, max-age=31536000, immutable"


class ClientGone(Exception):
    """The client disconnected while its faces were queued; nothing more is computed for it."""


def pick_format(fmt: str | None, accept: str, allowed: tuple[str, ...]) -> str:
    """The explicit format, else the first allowed type in Accept (by q), else PNG."""
    if fmt:
        return fmt
    wanted = []
    for i, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        wanted.append((-q, i, media.lower()))
    by_media = {v: k for k, v in imaging.MEDIA_TYPES.items()} | {"application/json": "json"}
    for _, _, media in sorted(wanted):
        if by_media.get(media) in allowed:
            return by_media[media]
    return "png"


def etag_for(model_sha: str, **params) -> str:
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return '"' + hashlib.sha256(f"{model_sha}|{canonical}".encode()).hexdigest()[:32] + '"'


def etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    return any(tag.strip() in (etag, "*", f"W/{etag}") for tag in header.split(","))


async def unless_disconnected(request: Request, coro):
    """Await coro, but cancel it (and its queued faces) if the client disconnects first."""
    task = asyncio.ensure_future(coro)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.1)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                raise ClientGone()
    finally:
        if not task.done():
            task.cancel()


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    upscale_q = Query(ge=1, le=settings.max_upscale, description="enlarge each face this many times")
    resample_q = Query(description="upscaling filter")

    def service(request: Request):
        svc = request.app.state.service
        if not svc.ready.is_set():
            raise HTTPException(503, "model is warming up; retry shortly", headers={"Retry-After": "1"})
        return svc

    def draw_seed(n: int) -> int:
        return secrets.randbelow(MAX_SEED + 2 - n)

    def headers(request: Request, seed: int | None, etag: str | None) -> dict:
        svc = request.app.state.service
        out = {"X-Model": svc.model.manifest.ref}
        if seed is not None:
            out["X-Seed"] = str(seed)
        if etag:
            out.update({"ETag": etag, "Cache-Control": IMMUTABLE})
        else:
            out["Cache-Control"] = "no-store"
        return out

    async def compute(request: Request, coro):
        try:
            return await unless_disconnected(request, coro)
        except Overloaded as exc:
            request.app.state.metrics.rejected.inc()
            raise HTTPException(503, f"server busy: {exc}; retry shortly", headers={"Retry-After": "1"}) from None

    async def encode(request: Request, pixels, fmt: str) -> bytes:
        return await asyncio.to_thread(imaging.encode, pixels, fmt, request.app.state.encode_options)

    @router.post(
        "/generate",
        summary="A grid of seeded faces",
        description="Faces for seeds `seed .. seed+n-1`, row-major in a near-square grid (2 px padding). "
                    "The same request always returns the same bytes; X-Seed says which seed was used.",
        responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/json": {}},
                         "description": "the grid image, or with format=json the faces' seeds and URLs"},
                   304: {"description": "If-None-Match matched the ETag"},
                   422: {"description": "invalid parameters"}, 503: {"description": "busy or warming up"}},
    )
    async def generate(
        request: Request,
        n: Annotated[int, Query(ge=1, le=settings.max_faces, description="number of faces", examples=[16])] = 16,
        seed: SeedQuery = None,
        cols: Annotated[int | None, Query(ge=1, le=settings.max_faces, description="grid columns")] = None,
        format: Annotated[Literal["png", "jpeg", "webp", "json"] | None,
                          Query(description="output format (default: from Accept, else png)")] = None,
        upscale: Annotated[int, upscale_q] = 1,
        resample: Annotated[Literal["nearest", "lanczos"], resample_q] = "nearest",
    ):
        if seed is not None and seed + n - 1 > MAX_SEED:
            raise HTTPException(422, f"seed + n - 1 must be < 2**32 (seed={seed}, n={n})")
        fmt = pick_format(format, request.headers.get("accept", ""), ("png", "jpeg", "webp", "json"))
        svc = service(request)
        explicit = seed is not None
        seed = seed if explicit else draw_seed(n)
        request.state.log = {"n": n, "seed": seed}
        etag = etag_for(svc.model.model_sha256, route="generate", n=n, seed=seed, cols=cols, format=fmt,
                        upscale=upscale, resample=resample) if explicit else None
        hdrs = headers(request, seed, etag)
        if etag and etag_matches(request, etag):
            return Response(status_code=304, headers=hdrs)
        if fmt == "json":
            faces = [{"seed": s, "url": str(request.url_for("face", seed=s))} for s in range(seed, seed + n)]
            return JSONResponse({"model": svc.model.manifest.ref, "seed": seed, "n": n, "faces": faces},
                                headers=hdrs)
        faces, request.state.log["batch"] = await compute(request, svc.faces(range(seed, seed + n)))
        pixels = imaging.grid(imaging.upscale(faces, upscale, resample), cols)
        return Response(await encode(request, pixels, fmt), media_type=imaging.MEDIA_TYPES[fmt], headers=hdrs)

    @router.get("/faces/{seed}", name="face", summary="One face",
                responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}})
    async def face(
        request: Request,
        seed: int,
        format: Annotated[Literal["png", "jpeg", "webp"] | None, Query()] = None,
        upscale: Annotated[int, upscale_q] = 1,
        resample: Annotated[Literal["nearest", "lanczos"], resample_q] = "nearest",
    ):
        if not 0 <= seed <= MAX_SEED:
            raise HTTPException(422, f"seed must be in [0, {MAX_SEED}], got {seed}")
        fmt = pick_format(format, request.headers.get("accept", ""), ("png", "jpeg", "webp"))
        svc = service(request)
        request.state.log = {"n": 1, "seed": seed}
        etag = etag_for(svc.model.model_sha256, route="face", seed=seed, format=fmt, upscale=upscale,
                        resample=resample)
        hdrs = headers(request, seed, etag)
        if etag_matches(request, etag):
            return Response(status_code=304, headers=hdrs)
        faces, request.state.log["batch"] = await compute(request, svc.faces([seed]))
        pixels = imaging.upscale(faces, upscale, resample)[0]
        return Response(await encode(request, pixels, fmt), media_type=imaging.MEDIA_TYPES[fmt], headers=hdrs)

    @router.get("/interpolate", summary="A latent walk from face a to face b",
                description="A strip (png/jpeg/webp) or an animation (gif, or webp with animate=true). "
                            "Frame 0 is exactly face seed_a and the last frame exactly face seed_b.",
                responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "image/gif": {}}}})
    async def interpolate(
        request: Request,
        seed_a: Annotated[int, Query(ge=0, le=MAX_SEED, examples=[1])],
        seed_b: Annotated[int, Query(ge=0, le=MAX_SEED, examples=[2])],
        steps: Annotated[int, Query(ge=2, le=settings.max_steps, description="frames, ends included")] = 8,
        method: Annotated[Literal["slerp", "linear"], Query(description="spherical or linear")] = "slerp",
        format: Annotated[Literal["png", "jpeg", "webp", "gif"] | None, Query()] = None,
        animate: Annotated[bool, Query(description="webp: animated instead of a strip (gif always animates)")] = False,
        fps: Annotated[float, Query(gt=0, le=50, description="animation frames per second")] = 8.0,
        boomerang: Annotated[bool, Query(description="animation plays forward then back")] = False,
        cols: Annotated[int | None, Query(ge=1, le=settings.max_steps, description="strip columns")] = None,
        upscale: Annotated[int, upscale_q] = 1,
        resample: Annotated[Literal["nearest", "lanczos"], resample_q] = "nearest",
    ):
        fmt = pick_format(format, request.headers.get("accept", ""), ("png", "jpeg", "webp", "gif"))
        svc = service(request)
        request.state.log = {"n": steps, "seed": f"{seed_a}->{seed_b}"}
        animated = fmt == "gif" or (fmt == "webp" and animate)
        if animate and fmt in ("png", "jpeg"):
            raise HTTPException(422, f"format={fmt} cannot animate; use gif or webp")
        etag = etag_for(svc.model.model_sha256, route="interpolate", a=seed_a, b=seed_b, steps=steps, method=method,
                        format=fmt, animated=animated, fps=fps if animated else None,
                        boomerang=boomerang if animated else None, cols=cols, upscale=upscale, resample=resample)
        hdrs = headers(request, None, etag)
        if etag_matches(request, etag):
            return Response(status_code=304, headers=hdrs)
        frames, request.state.log["batch"] = await compute(request, svc.walk(seed_a, seed_b, steps, method))
        frames = imaging.upscale(frames, upscale, resample)
        if animated:
            body = await asyncio.to_thread(imaging.encode_animation, frames, fmt, fps, boomerang,
                                           request.app.state.encode_options)
        else:
            body = await encode(request, imaging.grid(frames, cols or steps), fmt)
        return Response(body, media_type=imaging.MEDIA_TYPES[fmt], headers=hdrs)

    @router.get("/models", summary="Published models in the store, with their manifests")
    async def models(request: Request):
        svc = request.app.state.service
        store = ModelStore(request.app.state.settings.model_store)
        manifests = await asyncio.to_thread(store.manifests)
        return {"serving": svc.model.manifest.ref,
                "models": [m.model_dump(mode="json") for m in manifests]}

    @router.get("/healthz", summary="Alive")
    async def healthz():
        return {"status": "ok"}

    @router.get("/readyz", summary="Model loaded and warmed up (503 until then)")
    async def readyz(request: Request):
        svc = request.app.state.service
        body = {"model": svc.model.manifest.ref, "engine": svc.engine.name, "device": svc.engine.device}
        if not svc.ready.is_set():
            return JSONResponse({"status": "warming up", **body}, status_code=503, headers={"Retry-After": "1"})
        return {"status": "ready", **body}

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request):
        m = request.app.state.metrics
        return Response(m.render(), media_type=m.content_type)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request):
        ref = request.app.state.service.model.manifest.ref
        return HTMLResponse(
            f"<!doctype html><meta charset=utf-8><title>facegen</title>"
            f"<h1>facegen</h1><p>Serving <code>{ref}</code>.</p>"
            f"<p><img src='/interpolate?seed_a=1&seed_b=2&steps=16&format=gif&upscale=2&boomerang=true' alt='walk'></p>"
            f"<p><a href='/docs'>API docs</a> · <a href='/faces/0?upscale=4'>a face</a> · "
            f"<a href='/models'>models</a> · <a href='/metrics'>metrics</a></p>")

    return router
