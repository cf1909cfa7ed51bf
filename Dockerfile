# facegen service image: Python + onnxruntime-gpu with the CUDA 13 / cuDNN 9 runtime libraries from
# NVIDIA's pip wheels (loaded by onnxruntime.preload_dlls), no torch, no compilers in the final stage.
# The NVIDIA driver (libcuda.so.1) comes from the host through the NVIDIA Container Toolkit; without a
# GPU the same image runs on the CPU (FACEGEN_DEVICE=auto logs one line and falls back).

ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY model_store/*.py ./model_store/
COPY training/*.py ./training/
# The service only (base dependencies), then the GPU runtime libraries onnxruntime-gpu 1.31 links against.
RUN pip install . \
 && pip install "onnxruntime-gpu[cuda,cudnn]==1.31.1" "nvidia-cublas~=13.0"

FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FACEGEN_HOST=0.0.0.0 \
    FACEGEN_PORT=8000 \
    FACEGEN_MODEL_STORE=/srv/model_store \
    FACEGEN_DEVICE=auto
RUN useradd --create-home --uid 10001 facegen
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root model_store /srv/model_store
USER facegen
WORKDIR /home/facegen
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('FACEGEN_PORT', '8000')}/healthz\", timeout=2)"]
CMD ["facegen-serve"]
