"""Where the time of one POST /generate?n=16 goes, stage by stage, in one process (medians of 20 runs).

    python bench/breakdown.py [--store S] [--model M] [--engine onnxruntime|openvino]

Stages as the service runs them: latents (numpy), engine call (batch of 16), uint8 conversion, grid,
PNG encoding at compression levels 1/6/9, JPEG and WebP. Queue wait is max_wait_ms at most (5 ms) when
a request is alone; under load it is the time the previous engine call still needs.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import open_model  # noqa: E402

from app import imaging  # noqa: E402
from app.engine import create_engine  # noqa: E402
from model_store import latents_for_seeds  # noqa: E402
from model_store.pictures import to_uint8  # noqa: E402


def timed(fn, repeats=20):
    fn()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store")
    parser.add_argument("--model")
    parser.add_argument("--engine", default="auto")
    args = parser.parse_args()
    opened = open_model(args.store, args.model)
    engine = create_engine(opened.model_path, args.engine, "cpu")
    dim = opened.manifest.architecture.latent_dim
    z = latents_for_seeds(range(16), dim)
    raw = engine.run(z)
    faces = to_uint8(raw)
    grid = imaging.grid(faces)
    stages = {
        "latents (16 seeds)": lambda: latents_for_seeds(range(16), dim),
        f"engine ({engine.name}, batch 16)": lambda: engine.run(z),
        "to uint8": lambda: to_uint8(raw),
        "grid": lambda: imaging.grid(faces),
    }
    for level in (1, 6, 9):
        stages[f"encode PNG level {level}"] = (
            lambda lv=level: imaging.encode(grid, "png", imaging.EncodeOptions(png_compress_level=lv)))
    stages["encode JPEG q90"] = lambda: imaging.encode(grid, "jpeg", imaging.EncodeOptions())
    stages["encode WebP q90"] = lambda: imaging.encode(grid, "webp", imaging.EncodeOptions())
    times = {name: timed(fn) for name, fn in stages.items()}
    served = sum(v for k, v in times.items() if not k.startswith("encode")) + times["encode PNG level 6"]
    print(f"One n=16 request on `{opened.manifest.ref}`, median of 20 (ms):\n")
    print("| stage | ms | share of a default PNG request |")
    print("|---|---|---|")
    for name, ms in times.items():
        share = f"{100 * ms / served:.0f}%" if not name.startswith("encode") or name.endswith("level 6") else ""
        print(f"| {name} | {ms:.2f} | {share} |")


if __name__ == "__main__":
    main()
