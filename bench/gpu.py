"""The CUDA path, measured like bench/engines.py: onnxruntime's CUDA provider with fp32 and an fp16 copy
of the model, inputs and outputs bound on the device (IOBinding), faces/s at batch 1/16/64/256, and
quality of fp16 against fp32 (PSNR, max abs pixel difference) on 256 faces.

    python bench/gpu.py [--store model_store] [--model NAME]

Needs a CUDA machine with onnxruntime-gpu and its CUDA 13 / cuDNN 9 libraries (pip install
'onnxruntime-gpu[cuda,cudnn]' nvidia-cublas). Exits with a clear message elsewhere.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import graph_flops, open_model, psnr, to_uint8  # noqa: E402

from app.engine import cuda_unavailable_reason  # noqa: E402
from model_store import latents_for_seeds  # noqa: E402

BATCHES = (1, 16, 64, 256)


def fp16_copy(path: Path, out: Path) -> Path:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    onnx.save(model, str(out))
    return out


def bound_runner(path: Path):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=[("CUDAExecutionProvider",
                                                          {"cudnn_conv_algo_search": "EXHAUSTIVE"})])
    assert "CUDAExecutionProvider" in session.get_providers(), session.get_providers()
    inp, out = session.get_inputs()[0].name, session.get_outputs()[0].name

    def run(z: np.ndarray, copy_back: bool = True):
        binding = session.io_binding()
        z_dev = ort.OrtValue.ortvalue_from_numpy(z, "cuda", 0)
        binding.bind_ortvalue_input(inp, z_dev)
        binding.bind_output(out, "cuda", 0)
        session.run_with_iobinding(binding)
        result = binding.get_outputs()[0]
        return result.numpy() if copy_back else result

    return run


def rate(run, z, repeats=20) -> float:
    for _ in range(3):
        run(z)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(z)
        samples.append(time.perf_counter() - started)
    return len(z) / statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store")
    parser.add_argument("--model")
    args = parser.parse_args()
    reason = cuda_unavailable_reason()
    if reason:
        sys.exit(f"bench/gpu.py needs a usable CUDA provider: {reason}")
    opened = open_model(args.store, args.model)
    dim = opened.manifest.architecture.latent_dim
    flops = graph_flops(opened.model_path)
    half = fp16_copy(opened.model_path, Path(tempfile.mkdtemp()) / "fp16.onnx")
    runners = {"CUDA fp32 (IOBinding)": bound_runner(opened.model_path), "CUDA fp16 (IOBinding)": bound_runner(half)}
    zq = latents_for_seeds(range(256), dim)
    reference = to_uint8(runners["CUDA fp32 (IOBinding)"](zq))
    print(f"Model `{opened.manifest.ref}`, {flops / 1e9:.3f} GFLOP per face.\n")
    header = " | ".join(f"b={b} faces/s" for b in BATCHES)
    print(f"| engine | {header} | b=256 TFLOP/s | PSNR vs fp32 (dB) | max abs px diff |")
    print("|---|" + "---|" * (len(BATCHES) + 3))
    for name, run in runners.items():
        rates = [rate(run, latents_for_seeds(range(b), dim)) for b in BATCHES]
        faces = to_uint8(run(zq))
        q = psnr(reference, faces)
        diff = int(np.abs(reference.astype(int) - faces.astype(int)).max())
        cells = " | ".join(f"{r:.0f}" for r in rates)
        print(f"| {name} | {cells} | {rates[-1] * flops / 1e12:.1f} | "
              f"{'exact' if q == float('inf') else f'{q:.1f}'} | {diff} |")


if __name__ == "__main__":
    main()
