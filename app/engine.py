"""Inference engines: a published ONNX generator behind one call, `run(z) -> images`.

ONNX Runtime with the CUDA provider when a GPU and its libraries are really there, else the CPU;
OpenVINO on CPUs where it measured faster (see BENCHMARKS.md). Engines are not thread-safe by contract:
the micro-batcher makes one call at a time, from a worker thread.
"""

import ctypes
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger("facegen.engine")


class EngineError(RuntimeError):
    """The engine cannot run the model as asked (e.g. device=cuda without a usable GPU)."""


def cuda_unavailable_reason() -> str | None:
    """Why the CUDA provider cannot load here, or None when it can.

    onnxruntime-gpu logs an alarming error when it tries CUDA without its libraries; we look first:
    the NVIDIA driver, then the CUDA provider library itself (which links cuBLAS, cuDNN and the CUDA
    runtime, so loading it resolves all of them).
    """
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "this onnxruntime build has no CUDA provider (install onnxruntime-gpu)"
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no NVIDIA driver (libcuda.so.1 not found)"
    if hasattr(ort, "preload_dlls"):
        try:  # loads CUDA/cuDNN from the nvidia-* pip wheels when they are installed; harmless otherwise
            ort.preload_dlls(directory="")
        except Exception:  # noqa: BLE001 - best effort; the load below gives the real answer
            pass
    capi = Path(ort.__file__).parent / "capi"
    try:
        ctypes.CDLL(str(capi / "libonnxruntime_providers_shared.so"), mode=ctypes.RTLD_GLOBAL)
        ctypes.CDLL(str(capi / "libonnxruntime_providers_cuda.so"))
    except OSError as exc:
        return f"CUDA libraries missing ({exc})"
    return None


class OnnxRuntimeEngine:
    name = "onnxruntime"

    def __init__(self, model_path: Path, device: str = "auto", threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers: list = ["CPUExecutionProvider"]
        if device in ("auto", "cuda"):
            reason = cuda_unavailable_reason()
            if reason is None:
                # Heuristic conv algorithms and fixed-size batches keep results independent of batch mix.
                providers.insert(0, ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}))
            elif device == "cuda":
                raise EngineError(f"FACEGEN_DEVICE=cuda but CUDA cannot be used: {reason}")
            else:
                log.info("CUDA not available (%s); running on the CPU", reason)
        self.session = ort.InferenceSession(str(model_path), options, providers=providers)
        active = self.session.get_providers()
        if device == "cuda" and "CUDAExecutionProvider" not in active:
            raise EngineError("FACEGEN_DEVICE=cuda but onnxruntime could not start the CUDA provider")
        self.device = "cuda" if "CUDAExecutionProvider" in active else "cpu"
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def padded_size(self, n: int, max_batch: int) -> int:
        """The batch size to run n faces at so that every face's bytes are independent of the batch.

        The CPU provider is batch-independent bit for bit (tested); cuDNN may pick other kernels for
        other batch sizes, so on CUDA every call runs at one size.
        """
        return max(n, max_batch) if self.device == "cuda" else n

    def run(self, z: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: z})[0]


class OpenVinoEngine:
    name = "openvino"

    def __init__(self, model_path: Path, precision: str = "f32", threads: int = 0):
        try:
            import openvino as ov
        except ImportError as exc:
            raise EngineError("FACEGEN_ENGINE=openvino but the openvino package is not installed") from exc
        config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = ov.Core().compile_model(str(model_path), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.device = "cpu"

    def padded_size(self, n: int, max_batch: int) -> int:
        # OpenVINO's CPU kernels give other bits for some batch sizes (e.g. 7 vs 64) but the same bits at
        # every power of two (tested), so calls are padded up to the next one.
        return 1 << (n - 1).bit_length()

    def run(self, z: np.ndarray) -> np.ndarray:
        self.request.infer({0: z})
        return self.request.get_output_tensor(0).data.copy()


def create_engine(model_path: Path, engine: str = "auto", device: str = "auto", threads: int = 0):
    """The engine the settings ask for; auto = ONNX Runtime (CUDA when usable, else CPU)."""
    threads = threads or (os.cpu_count() or 1)
    if engine == "openvino":
        if device == "cuda":
            raise EngineError("FACEGEN_ENGINE=openvino runs on the CPU; use onnxruntime for cuda")
        return OpenVinoEngine(model_path, threads=threads)
    return OnnxRuntimeEngine(model_path, device=device, threads=threads)
