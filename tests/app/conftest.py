"""A real (tiny) ONNX generator published into a temporary store: the app runs it with its real engine.

Built with the onnx helper API so the service tests need no torch: z [N, D, 1, 1] -> MatMul -> Tanh ->
image [N, 3, 64, 64]. Different seeds give visibly different images, like a generator.
"""

from contextlib import asynccontextmanager

import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from app.main import create_app
from app.settings import Settings
from model_store import Manifest
from model_store.manifest import IO, Architecture, OutputSpec, TensorSpec
from model_store.store import file_entry

LATENT = 8
SIZE = 64


def build_onnx(path, latent=LATENT, size=SIZE, seed=0):
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((latent, 3 * size * size)) * 0.6).astype(np.float32)
    nodes = [
        helper.make_node("Reshape", ["z", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W"], ["mixed"]),
        helper.make_node("Tanh", ["mixed"], ["act"]),
        helper.make_node("Reshape", ["act", "image_shape"], ["image"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny-generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent, 1, 1])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        initializer=[numpy_helper.from_array(weight, "W"),
                     numpy_helper.from_array(np.array([-1, latent], np.int64), "flat_shape"),
                     numpy_helper.from_array(np.array([-1, 3, size, size], np.int64), "image_shape")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def publish_tiny(root, name="tiny", version="0.0.1"):
    folder = root / name
    folder.mkdir(parents=True)
    build_onnx(folder / "generator.onnx")
    manifest = Manifest(
        name=name, version=version, description="test generator",
        architecture=Architecture(latent_dim=LATENT, ngf=1, image_size=SIZE, activation="leaky_relu"),
        io=IO(input=TensorSpec(name="z", shape=["N", LATENT, 1, 1]),
              output=OutputSpec(name="image", shape=["N", 3, SIZE, SIZE])),
        files={"generator.onnx": file_entry(folder / "generator.onnx")},
    )
    manifest.write(folder)
    return folder


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    publish_tiny(root)
    return root


@pytest.fixture
def settings(store):
    return Settings(model_store=store, _env_file=None, threads=1)


@asynccontextmanager
async def running(app):
    """The app with its lifespan (startup, warm-up) and an httpx client over ASGITransport."""
    async with app.router.lifespan_context(app):
        await app.state.service.ready.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(settings):
    async with running(create_app(settings)) as c:
        yield c


@pytest.fixture
def anyio_backend():
    return "asyncio"
