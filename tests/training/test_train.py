import csv
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from training.config import build_config
from training.train import train

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tiny(tmp_path, data, **overrides):
    values = dict(data=str(data), runs_dir=str(tmp_path / "runs"), name="t", limit=16, batch_size=8, epochs=2,
                  log_every=1)
    values.update(overrides)
    return build_config("tiny", **values)


def weights(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)


def test_few_steps_on_real_faces(tmp_path, few_faces):
    cfg = tiny(tmp_path, few_faces, epochs=1, ema_decay=0.9, diffaugment="color,translation,cutout",
               label_smoothing=0.1, g_steps=2, scheduler="cosine")
    torch.manual_seed(0)
    from training.models import Generator, init_weights

    initial = Generator(cfg.nz, cfg.ngf, cfg.image_size, cfg.activation)
    torch.manual_seed(cfg.seed)
    initial.apply(init_weights)
    run_dir = train(cfg, progress=False)
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert len(rows) == 2
    for row in rows:
        for key in ("loss_d", "loss_g", "d_real", "d_fake", "lr_d", "lr_g"):
            assert torch.isfinite(torch.tensor(float(row[key])))
    ckpt = weights(run_dir)
    changed = [not torch.equal(ckpt["G"][k], v) for k, v in initial.state_dict().items() if v.is_floating_point()]
    assert any(changed), "generator weights did not change"
    assert ckpt["G_ema"] is not None
    for name in ("config.json", "losses.png", "samples/epoch_001.png", "summary.json"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["images"] == 16 and summary["iterations"] == 2


def test_same_seed_same_first_steps(tmp_path, few_faces):
    a = train(tiny(tmp_path, few_faces, epochs=1, name="a"), progress=False)
    b = train(tiny(tmp_path, few_faces, epochs=1, name="b"), progress=False)
    for key, value in weights(a)["G"].items():
        torch.testing.assert_close(weights(b)["G"][key], value, rtol=0, atol=0)


def test_resume_continues_exactly(tmp_path, few_faces):
    straight = train(tiny(tmp_path, few_faces, name="straight", ema_decay=0.9, scheduler="cosine"),
                     progress=False)
    cfg = tiny(tmp_path, few_faces, name="resumed", ema_decay=0.9, scheduler="cosine")
    run_dir = train(cfg, stop_after_epoch=1, progress=False)
    assert weights(run_dir)["epoch"] == 1
    train(cfg, resume=run_dir / "checkpoint.pt", progress=False)
    a, b = weights(straight), weights(run_dir)
    assert a["step"] == b["step"] == 4
    for part in ("G", "D", "G_ema"):
        for key, value in a[part].items():
            torch.testing.assert_close(b[part][key], value, rtol=0, atol=0)
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]


def test_bad_settings_are_rejected(tmp_path, few_faces):
    with pytest.raises(ValueError, match="activation"):
        tiny(tmp_path, few_faces, activation="gelu")
    with pytest.raises(ValueError, match="diffaugment"):
        tiny(tmp_path, few_faces, diffaugment="rotate")
    with pytest.raises(ValueError, match="unknown preset"):
        build_config("nope")


def test_seed_preset_is_the_original_experiment():
    cfg = build_config("seed")
    assert (cfg.lr_d, cfg.lr_g, cfg.wd_d, cfg.scheduler, cfg.nz, cfg.activation, cfg.epochs, cfg.batch_size) == (
        2e-4, 4e-4, 1e-4, "cosine", 200, "tanh", 15, 512)
    assert build_config("seed", batch_size=64).batch_size == 64


def test_cli_train_and_help(tmp_path, few_faces):
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    out = subprocess.run([sys.executable, "-m", "training", "train", "--help"], capture_output=True, text=True,
                         env=env, check=True).stdout
    for flag in ("--preset", "--lr-d", "--g-steps", "--activation", "--ema-decay", "--resume", "--precision"):
        assert flag in out
    bad = subprocess.run([sys.executable, "-m", "training", "train", "--data", str(tmp_path / "missing")],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_two_processes_gloo(tmp_path, few_faces):
    env = {**os.environ, "PYTHONPATH": REPO_ROOT, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
           "-m", "training", "train", "--preset", "tiny", "--data", str(few_faces), "--limit", "16",
           "--batch-size", "8", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"), "--name", "ddp",
           "--no-progress", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "runs" / "ddp"
    ckpt = weights(run_dir)
    # 16 images over 2 ranks with 4 per rank: 2 steps, every rank seeing different images.
    assert ckpt["step"] == 2 and len(ckpt["rng"]["torch"]) == 2
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["hardware"].endswith("x2")
