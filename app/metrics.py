"""Prometheus metrics, one registry per app (so several apps in one process never collide)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("facegen_requests_total", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram("facegen_request_duration_seconds", "HTTP request latency", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.faces = Counter("facegen_faces_generated_total", "faces computed by the engine", registry=r)
        self.batch_faces = Histogram("facegen_batch_faces", "faces per engine call", buckets=BATCH_BUCKETS,
                                     registry=r)
        self.batch_requests = Histogram("facegen_batch_requests", "requests grouped in one engine call",
                                        buckets=BATCH_BUCKETS, registry=r)
        self.engine_seconds = Histogram("facegen_engine_seconds", "engine call duration", buckets=LATENCY_BUCKETS,
                                        registry=r)
        self.queue_depth = Gauge("facegen_queue_faces", "faces waiting for the engine", registry=r)
        self.rejected = Counter("facegen_overload_rejections_total", "requests refused with 503 (queue full)",
                                registry=r)

    def record_batch(self, stats) -> None:
        self.faces.inc(stats.faces)
        self.batch_faces.observe(stats.faces)
        self.batch_requests.observe(stats.requests)
        self.engine_seconds.observe(stats.engine_s)

    def render(self) -> bytes:
        return generate_latest(self.registry)
