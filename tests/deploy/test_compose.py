"""Container files: `docker compose config` where the Compose plugin exists, structure checks always."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


class ComposeLoader(yaml.SafeLoader):
    pass


# Compose's `!reset` tag (clear a value in an override file) is not plain YAML.
def _reset(loader, node):
    if isinstance(node, yaml.SequenceNode):
        return {"__reset__": loader.construct_sequence(node)}
    if isinstance(node, yaml.MappingNode):
        return {"__reset__": loader.construct_mapping(node)}
    return {"__reset__": loader.construct_scalar(node)}


ComposeLoader.add_constructor("!reset", _reset)


def load(name):
    return yaml.load((REPO / name).read_text(), Loader=ComposeLoader)


def compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not compose_available(), reason="the docker client here has no Compose v2 plugin "
                    "(`docker compose version` fails); structure is still checked below")
@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.cpu.yml"],
                                   ["docker-compose.yml", "docker-compose.scale.yml"]])
def test_docker_compose_config_validates(files):
    args = [a for f in files for a in ("-f", f)]
    result = subprocess.run(["docker", "compose", *args, "config", "--quiet"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_gpu_service_structure():
    service = load("docker-compose.yml")["services"]["facegen"]
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "./model_store:/srv/model_store:ro" in service["volumes"]
    assert service["restart"] == "unless-stopped" and "healthcheck" in service
    assert any(p.endswith(":8000") for p in service["ports"])


def test_cpu_override_and_scale_files():
    cpu = load("docker-compose.cpu.yml")["services"]["facegen"]
    assert cpu["environment"]["FACEGEN_DEVICE"] == "cpu" and "__reset__" in cpu["deploy"]
    scale = load("docker-compose.scale.yml")["services"]
    assert scale["facegen"]["ports"] == {"__reset__": []}
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in scale["proxy"]["volumes"]
    assert (REPO / "deploy" / "nginx.conf").is_file()


def test_dockerfile_conventions():
    text = (REPO / "Dockerfile").read_text()
    assert text.count("FROM ") == 2, "multi-stage build"
    assert "USER facegen" in text and "HEALTHCHECK" in text and "EXPOSE 8000" in text
    assert "onnxruntime-gpu[cuda,cudnn]" in text and "torch" not in text.split("AS runtime")[1].lower().replace(
        "no torch", "")
    assert "COPY --chown=root:root model_store /srv/model_store" in text
