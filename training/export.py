"""`python -m training export`: the (EMA) generator in eval mode to ONNX, checked against torch, and
optionally published into the model store (generator.onnx + model.json + samples.png + losses.png).
"""

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from model_store import Manifest, ModelStore
from model_store.latents import latents_for_seeds
from model_store.manifest import IO, Architecture, Metric, OutputSpec, TensorSpec, TrainingSummary
from model_store.store import file_entry
from training.checkpoint import load_generator, training_info
from training.models import count_parameters

INPUT_NAME, OUTPUT_NAME = "z", "image"
PARITY_BATCHES = (1, 3, 16)
PARITY_TOLERANCE = 1e-4


def export_onnx(G: torch.nn.Module, nz: int, path: Path, opset: int = 17) -> None:
    """One self-contained .onnx with a dynamic batch axis; BatchNorm in eval mode (batch-independent)."""
    G = G.eval()
    z = torch.randn(2, nz, 1, 1)
    with torch.no_grad():
        torch.onnx.export(
            G, (z,), str(path), dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}},
            # No folding: BatchNorm stays a node and every initializer keeps its PyTorch name, so the file
            # maps back to the module (bench/ rebuilds the torch twin from it); runtimes fuse Conv+BN anyway.
            do_constant_folding=False,
        )


def check_parity(G: torch.nn.Module, nz: int, path: Path, batches=PARITY_BATCHES) -> float:
    """Largest |torch - onnxruntime| over random latents of several batch sizes; raises past tolerance."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1234)
    worst = 0.0
    for n in batches:
        z = rng.standard_normal((n, nz, 1, 1)).astype(np.float32)
        with torch.no_grad():
            expected = G(torch.from_numpy(z)).numpy()
        (actual,) = session.run([OUTPUT_NAME], {INPUT_NAME: z})
        worst = max(worst, float(np.abs(expected - actual).max()))
    if worst > PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX export differs from torch by {worst:.2e} (> {PARITY_TOLERANCE:.0e})")
    return worst


def build_manifest(name: str, version: str, cfg, weights: str, parameters: int, folder: Path, info: dict,
                   metrics: list[dict], description: str) -> Manifest:
    files = {p.name: file_entry(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != "model.json"}
    training = None
    if info:
        training = TrainingSummary(
            preset=info.get("preset"), data=info["data"], images=info["images"], holdout=info.get("holdout", 0),
            epochs=info["epochs"], iterations=info["iterations"], batch_size=info["batch_size"],
            wall_time_s=info["wall_time_s"], hardware=info["hardware"], precision=info.get("precision", "fp32"),
            exported_weights=weights, config=cfg.to_dict(),
        )
    return Manifest(
        name=name, version=version, description=description,
        architecture=Architecture(latent_dim=cfg.nz, ngf=cfg.ngf, image_size=cfg.image_size,
                                  activation=cfg.activation, parameters=parameters),
        io=IO(input=TensorSpec(name=INPUT_NAME, shape=["N", cfg.nz, 1, 1]),
              output=OutputSpec(name=OUTPUT_NAME, shape=["N", 3, cfg.image_size, cfg.image_size])),
        files=files, training=training, metrics=[Metric(**m) for m in metrics],
        licence="Trained on CelebA: non-commercial research purposes only.",
    )


def publish(G, cfg, weights: str, checkpoint: Path, target: Path, version: str, metrics: list[dict],
            description: str = "", make_default: bool = False) -> Manifest:
    """Write a complete model version into `target` (= <store>/<name>), atomically replacing it."""
    from training.charts import save_grid
    from training.sample import generate_onnx

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a served model must be readable by the service user
    try:
        model_path = staging / "generator.onnx"
        export_onnx(G, cfg.nz, model_path)
        check_parity(G, cfg.nz, model_path)
        # The sample grid comes from the exported file itself: exactly what the service will serve.
        faces = generate_onnx(model_path, latents_for_seeds(range(64), cfg.nz))
        save_grid(torch.from_numpy(faces), staging / "samples.png", cols=8)
        losses = checkpoint.parent / "losses.png"
        if losses.is_file():
            shutil.copy(losses, staging / "losses.png")
        manifest = build_manifest(target.name, version, cfg, weights, count_parameters(G), staging,
                                  training_info(checkpoint), metrics, description)
        manifest.write(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    if make_default:
        ModelStore(target.parent).set_default(target.name)
    return manifest


def run(args) -> None:
    G, cfg, weights = load_generator(args.checkpoint, args.weights, recalibrate_bn=not args.no_recalibrate_bn)
    metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else []
    if args.publish:
        manifest = publish(G, cfg, weights, Path(args.checkpoint), Path(args.publish), args.version, metrics,
                           args.description, args.make_default)
        print(f"published {manifest.ref} to {args.publish} ({weights} weights)")
        return
    out = Path(args.out)
    export_onnx(G, cfg.nz, out)
    diff = check_parity(G, cfg.nz, out)
    print(f"wrote {out} ({weights} weights); max |torch - onnxruntime| = {diff:.2e}")


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="generator to ONNX (checked against torch), optionally published",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="runs/<name>/checkpoint.pt")
    p.add_argument("--weights", default="auto", choices=["auto", "ema", "generator"],
                   help="auto = the EMA copy when the run kept one")
    p.add_argument("--no-recalibrate-bn", action="store_true",
                   help="keep BatchNorm running stats from training instead of re-estimating them")
    p.add_argument("--out", default="generator.onnx", help="ONNX path (without --publish)")
    p.add_argument("--publish", help="model folder to write, e.g. model_store/celeba64-cspup")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--description", default="")
    p.add_argument("--metrics", help="JSON list of metrics from `evaluate --out`")
    p.add_argument("--make-default", action="store_true", help="make it the store's default model")
    p.set_defaults(func=run)
