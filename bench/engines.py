"""Engines side by side on one model, in one process: faces/s at batch 1/16/64, % of the machine's ceiling,
and quality against the fp32 reference (PSNR of uint8 faces, max abs pixel difference) on 256 faces.

    python bench/engines.py [--store model_store] [--model NAME] [--json out.json]

The fp32 reference is onnxruntime fp32, which export checks against torch fp32 (max |diff| < 1e-4);
torch eager runs the same architecture with the ONNX file's own weights.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import graph_flops, median_rate, open_model, psnr, to_uint8, torch_twin  # noqa: E402

from model_store import latents_for_seeds  # noqa: E402

BATCHES = (1, 16, 64)
QUALITY_FACES = 256


def matmul_rate(dtype_name: str, max_n: int = 2048, repeats: int = 5) -> float:
    """The machine's large-matmul rate (FLOP/s) with torch, the ceiling every engine is compared to.

    The size grows from 256 while one product takes under 0.25 s, so a dtype the CPU only emulates
    (bf16 without AVX512-BF16/AMX runs at a tiny fraction of fp32) is measured without taking minutes.
    """
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    n = 256
    while True:
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        started = time.perf_counter()
        a @ b
        if n >= max_n or time.perf_counter() - started > 0.25:
            break
        n *= 2
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - started))
    return best


def ort_engine(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda z: session.run(None, {name: z})[0]


def openvino_engine(path: Path, precision: str, threads: int):
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                          "INFERENCE_NUM_THREADS": threads,
                                                          "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()

    def run(z):
        request.infer({0: z})
        return request.get_output_tensor(0).data.copy()

    return run


def torch_engine(opened, threads: int):
    import torch

    torch.set_num_threads(threads)
    G = torch_twin(opened)

    def run(z):
        with torch.inference_mode():
            return G(torch.from_numpy(z)).numpy()

    return run


def int8_engine(path: Path, latent_dim: int, threads: int, workdir: Path):
    """onnxruntime with static int8 quantization (QDQ, per-channel), calibrated on 128 seeded latents."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            z = latents_for_seeds(range(10_000, 10_128), latent_dim)
            self.batches = iter([{"z": z[i:i + 16]} for i in range(0, 128, 16)])

        def get_next(self):
            return next(self.batches, None)

    pre = workdir / "pre.onnx"
    quant_pre_process(str(path), str(pre), skip_symbolic_shape=True)
    out = workdir / "int8.onnx"
    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return ort_engine(out, threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store")
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()

    opened = open_model(args.store, args.model)
    dim = opened.manifest.architecture.latent_dim
    flops = graph_flops(opened.model_path)
    ceilings = {p: matmul_rate(p) for p in ("fp32", "bf16")}
    workdir = Path(tempfile.mkdtemp())
    candidates = {
        "torch eager fp32": lambda: torch_engine(opened, args.threads),
        "onnxruntime fp32": lambda: ort_engine(opened.model_path, args.threads),
        "onnxruntime int8 (static QDQ)": lambda: int8_engine(opened.model_path, dim, args.threads, workdir),
        "openvino fp32": lambda: openvino_engine(opened.model_path, "f32", args.threads),
        "openvino bf16": lambda: openvino_engine(opened.model_path, "bf16", args.threads),
    }
    z_quality = latents_for_seeds(range(QUALITY_FACES), dim)
    reference = None
    rows = []
    for name, build in candidates.items():
        try:
            run = build()
        except Exception as exc:  # noqa: BLE001 - an engine missing here is reported, not fatal
            rows.append({"engine": name, "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        faces = to_uint8(np.concatenate([run(z_quality[i:i + 64]) for i in range(0, QUALITY_FACES, 64)]))
        if name == "onnxruntime fp32":
            reference = faces
        row = {"engine": name, "faces": faces}
        for batch in BATCHES:
            z = latents_for_seeds(range(batch), dim)
            row[f"b{batch}"] = median_rate(lambda z=z, run=run: run(z), batch, args.repeats)
        rows.append(row)
        print(f"measured {name}", file=sys.stderr, flush=True)
    ceiling_fp32 = ceilings["fp32"] / flops
    ceiling_bf16 = ceilings["bf16"] / flops
    print(f"Model `{opened.manifest.ref}`: {flops / 1e9:.3f} GFLOP per face (counted from the ONNX graph).")
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"matmul {ceilings['fp32'] / 1e9:.1f} GFLOP/s fp32, {ceilings['bf16'] / 1e9:.1f} GFLOP/s bf16 "
          f"-> ceiling {ceiling_fp32:.1f} faces/s fp32, {ceiling_bf16:.1f} faces/s bf16.\n")
    print("| engine | b=1 faces/s | b=16 faces/s | b=64 faces/s | b=64 % of fp32 ceiling | PSNR vs fp32 (dB) "
          "| max abs px diff |")
    print("|---|---|---|---|---|---|---|")
    results = []
    for row in rows:
        if "error" in row:
            print(f"| {row['engine']} | not available: {row['error']} | | | | | |")
            results.append(row)
            continue
        q = psnr(reference, row["faces"]) if reference is not None else float("nan")
        diff = int(np.abs(reference.astype(int) - row["faces"].astype(int)).max()) if reference is not None else -1
        pct = 100 * row["b64"] / ceiling_fp32
        print(f"| {row['engine']} | {row['b1']:.1f} | {row['b16']:.1f} | {row['b64']:.1f} | {pct:.0f}% | "
              f"{'exact' if q == float('inf') else f'{q:.1f}'} | {diff} |")
        results.append({k: v for k, v in row.items() if k != "faces"} | {"psnr": q, "max_diff": diff, "pct": pct})
    if args.json:
        Path(args.json).write_text(json.dumps({"flops": flops, "ceilings": ceilings, "rows": results}, indent=2))


if __name__ == "__main__":
    main()
