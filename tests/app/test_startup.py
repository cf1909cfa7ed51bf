"""Startup: a missing, corrupt or mismatched model stops the service with one clear message."""

import json
import os
import subprocess
import sys

import pytest

from app.main import StartupError, create_app
from app.settings import Settings
from tests.app.conftest import publish_tiny


def settings_for(root, **kw):
    return Settings(model_store=root, _env_file=None, **kw)


def test_empty_store(tmp_path):
    with pytest.raises(StartupError, match="no published model"):
        create_app(settings_for(tmp_path))


def test_unknown_model_name(tmp_path):
    publish_tiny(tmp_path)
    with pytest.raises(StartupError, match=r"nope/model.json: manifest not found"):
        create_app(settings_for(tmp_path, model="nope"))
    with pytest.raises(StartupError, match="invalid model name"):
        create_app(settings_for(tmp_path, model="../tiny"))


def test_sha256_mismatch_names_the_file(tmp_path):
    folder = publish_tiny(tmp_path)
    with open(folder / "generator.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(StartupError, match=r"tiny/generator.onnx: sha256 mismatch"):
        create_app(settings_for(tmp_path))


def test_corrupt_onnx_with_matching_sha(tmp_path):
    folder = publish_tiny(tmp_path)
    (folder / "generator.onnx").write_bytes(b"this is not onnx")
    manifest = json.loads((folder / "model.json").read_text())
    from model_store.store import sha256_of

    manifest["files"]["generator.onnx"] = {"sha256": sha256_of(folder / "generator.onnx"), "bytes": 16}
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(StartupError, match=r"cannot load .*generator.onnx"):
        create_app(settings_for(tmp_path))


def test_invalid_manifest(tmp_path):
    folder = publish_tiny(tmp_path)
    (folder / "model.json").write_text("{}")
    with pytest.raises(StartupError, match=r"tiny/model.json: invalid manifest"):
        create_app(settings_for(tmp_path))


def test_cuda_demanded_without_gpu_fails(tmp_path):
    publish_tiny(tmp_path)
    from app.engine import cuda_unavailable_reason

    if cuda_unavailable_reason() is None:
        pytest.skip("this machine has a usable CUDA provider")
    with pytest.raises(StartupError, match="FACEGEN_DEVICE=cuda but CUDA cannot be used"):
        create_app(settings_for(tmp_path, device="cuda"))


def test_auto_falls_back_to_cpu_with_one_clear_line(tmp_path, caplog):
    publish_tiny(tmp_path)
    from app.engine import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason is None:
        pytest.skip("this machine has a usable CUDA provider")
    caplog.set_level("INFO")
    app = create_app(settings_for(tmp_path))
    assert app.state.service.engine.device == "cpu"
    lines = [r.getMessage() for r in caplog.records if "CUDA" in r.getMessage()]
    assert lines == [f"CUDA not available ({reason}); running on the CPU"]


def test_cli_reports_bad_model_and_exits(tmp_path):
    folder = publish_tiny(tmp_path)
    (folder / "generator.onnx").write_bytes(b"x")
    env = {**os.environ, "FACEGEN_MODEL_STORE": str(tmp_path), "FACEGEN_PORT": "1"}
    result = subprocess.run([sys.executable, "-m", "app.cli"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "facegen: cannot start: cannot load the model:" in result.stderr
    assert "generator.onnx: sha256 mismatch" in result.stderr
    assert "Traceback" not in result.stderr


def test_service_never_imports_torch(store):
    code = ("import sys; from app.main import create_app; from app.settings import Settings; "
            f"create_app(Settings(model_store={str(store)!r}, _env_file=None)); "
            "assert 'torch' not in sys.modules and 'training' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
