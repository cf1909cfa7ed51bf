"""Shared pieces of the benchmarks: opening the model, timing, quality, and the torch twin of an ONNX model."""

import statistics
import time
from pathlib import Path

import numpy as np

from model_store import ModelStore
from model_store.pictures import to_uint8  # noqa: F401 - the service's own rounding, re-exported for the scripts


def open_model(store: str | None, name: str | None):
    return ModelStore(Path(store)).open(name) if store else ModelStore().open(name)


def median_rate(fn, faces: int, repeats: int = 5) -> float:
    """Median faces/s over `repeats` timed calls (after one warm-up call)."""
    fn()
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        rates.append(faces / (time.perf_counter() - started))
    return statistics.median(rates)


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def graph_flops(model_path: Path) -> float:
    """2 x multiply-adds of Conv / ConvTranspose / MatMul / Gemm for one face, counted from the ONNX graph.

    Shapes come from running the graph once at batch 1 with every such node's tensors exposed as outputs
    (static shape inference cannot see through the Shape/Slice ops of the CSPup channel split).
    """
    import onnx
    import onnxruntime as ort
    model = onnx.load(str(model_path))
    weights = {i.name: list(i.dims) for i in model.graph.initializer}
    counted = [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose", "MatMul", "Gemm")]
    wanted = {name for n in counted for name in (n.input[0], n.output[0]) if name not in weights}
    existing = {o.name for o in model.graph.output}
    for name in sorted(wanted - existing):
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    dim = session.get_inputs()[0].shape[1]
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {session.get_inputs()[0].name: np.zeros((1, dim, 1, 1), np.float32)})
    shapes = {name: list(v.shape) for name, v in zip(names, values, strict=True)} | weights
    flops = 0.0
    for node in counted:
        w = shapes[node.input[1]]
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            flops += 2 * np.prod(w) * out[2] * out[3]  # Cout*Cin/g*kh*kw per output pixel
        elif node.op_type == "ConvTranspose":
            x = shapes[node.input[0]]
            flops += 2 * np.prod(w) * x[2] * x[3]  # every input pixel scatters Cin*Cout*kh*kw
        else:
            a = shapes[node.input[0]]
            flops += 2 * np.prod(a[:-1]) * a[-1] * w[-1]
    return float(flops)


def torch_twin(opened):
    """The torch Generator with the ONNX file's weights (the exporter keeps parameter names)."""
    import onnx
    import torch
    from onnx import numpy_helper

    from training.models import Generator

    arch = opened.manifest.architecture
    G = Generator(arch.latent_dim, arch.ngf, arch.image_size, arch.activation)
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
               for i in onnx.load(str(opened.model_path)).graph.initializer}
    state = G.state_dict()
    missing = [k for k in state if k not in weights and not k.endswith("num_batches_tracked")]
    if missing:
        raise RuntimeError(f"ONNX initializers do not name these parameters: {missing[:5]}")
    G.load_state_dict({k: weights.get(k, v) for k, v in state.items()})
    return G.eval()
