"""The FastAPI app: `create_app()` opens and verifies the model, builds the engine, wires the routes.

Opening happens in create_app (not at first request) so a missing, corrupt or mismatched model stops
startup with one clear message. Warm-up runs after startup; /readyz says 503 until it is done.

Run it with `facegen-serve`, or `uvicorn --factory app.main:create_app`.
"""

import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.engine import EngineError, create_engine
from app.imaging import EncodeOptions
from app.metrics import Metrics
from app.routes import ClientGone, build_router
from app.service import FaceService
from app.settings import Settings
from model_store import ModelStore, StoreError

log = logging.getLogger("facegen")
access_log = logging.getLogger("facegen.access")


class StartupError(RuntimeError):
    """The service cannot start; the message says why and names the file or setting."""


class AccessLogMiddleware:
    """One structured line and the Prometheus counters per request (pure ASGI: keeps disconnects visible)."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            fields = getattr(scope.get("state", {}).get("log"), "items", lambda: [])()
            extra = " ".join(f"{k}={v}" for k, v in fields)
            access_log.info("method=%s path=%s status=%d ms=%.1f %s", scope["method"], scope["path"],
                            status["code"], elapsed * 1000, extra)


def open_model(settings: Settings):
    try:
        store = ModelStore(settings.model_store)
        opened = store.open(settings.model, verify=True)
    except StoreError as exc:
        raise StartupError(f"cannot load the model: {exc}") from None
    try:
        engine = create_engine(opened.model_path, settings.engine, settings.device, settings.threads)
    except EngineError as exc:
        raise StartupError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - e.g. an .onnx that onnxruntime cannot parse
        raise StartupError(f"cannot load {opened.model_path}: {exc}") from None
    return opened, engine


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    opened, engine = open_model(settings)
    metrics = Metrics()
    log.info("serving %s from %s with %s on %s", opened.manifest.ref, opened.folder, engine.name, engine.device)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await app.state.service.start()
        yield
        await app.state.service.stop()

    app = FastAPI(
        title="facegen",
        version="0.1.0",
        description="Seeded face generation with a CSPup GAN. A face is a pure function of (model, seed).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.service = FaceService(settings, opened, engine, metrics)
    app.state.encode_options = EncodeOptions(settings.png_compress_level, settings.jpeg_quality,
                                             settings.webp_quality)
    app.include_router(build_router(settings))

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, exc: ClientGone):
        # Nobody is listening; 499 (nginx's "client closed request") keeps the logs honest.
        return JSONResponse({"detail": "client closed the request"}, status_code=499)

    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    return app
