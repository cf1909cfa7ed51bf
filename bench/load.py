"""Service benchmark: a real uvicorn (facegen-serve) in its own process, this process as the load generator.

    python bench/load.py [--store S] [--model M] [--duration 20] [--concurrency 1 8 32] [--json out.json]

For each of batching on / off and each concurrency: POST /generate?n=16 with distinct seeds, closed loop,
for --duration seconds (bounded in time and count, loopback only). Reports requests/s, faces/s,
p50/p95/p99 latency and errors.
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

N_FACES = 16
MAX_REQUESTS = 100_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store, model, batching: bool, extra_env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "FACEGEN_PORT": str(port), "FACEGEN_BATCHING": str(batching).lower(),
           "FACEGEN_LOG_LEVEL": "warning", **extra_env}
    if store:
        env["FACEGEN_MODEL_STORE"] = store
    if model:
        env["FACEGEN_MODEL"] = model
    proc = subprocess.Popen([sys.executable, "-m", "app.cli"], env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not become ready")


async def load(base: str, concurrency: int, duration: float) -> dict:
    latencies: list[float] = []
    errors = 0
    next_seed = iter(range(0, MAX_REQUESTS * N_FACES, N_FACES))
    stop_at = time.perf_counter() + duration

    async def worker(client: httpx.AsyncClient):
        nonlocal errors
        while time.perf_counter() < stop_at and len(latencies) + errors < MAX_REQUESTS:
            started = time.perf_counter()
            try:
                r = await client.post("/generate", params={"n": N_FACES, "seed": next(next_seed)})
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"concurrency": concurrency, "requests": len(latencies), "errors": errors,
            "rps": len(latencies) / elapsed, "faces_per_s": len(latencies) * N_FACES / elapsed,
            "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "p99_ms": q[98] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store")
    parser.add_argument("--model")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--json")
    args = parser.parse_args()
    results = []
    for batching in (True, False):
        proc, base = start_server(args.store, args.model, batching, {"FACEGEN_ENGINE": args.engine})
        try:
            asyncio.run(load(base, 2, 3))  # warm the server and the client path
            for c in args.concurrency:
                row = asyncio.run(load(base, c, args.duration)) | {"batching": batching}
                results.append(row)
                print(f"measured batching={batching} c={c}", file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"POST /generate?n={N_FACES}, distinct seeds, closed loop, {args.duration:.0f} s per row, "
          f"engine={args.engine}\n")
    print("| batching | concurrency | requests/s | faces/s | p50 ms | p95 ms | p99 ms | p99/p50 | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {'on' if r['batching'] else 'off'} | {r['concurrency']} | {r['rps']:.2f} | {r['faces_per_s']:.1f} | "
              f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['p99_ms'] / r['p50_ms']:.2f} | "
              f"{r['errors']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
