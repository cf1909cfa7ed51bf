#!/usr/bin/env bash
# Rerun every CPU benchmark on the default model and rewrite BENCHMARKS.md's measured sections.
# Usage: bash bench/run_all.sh [extra args for the scripts, e.g. --store model_store --model NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=$(mktemp -d)
$PY bench/engines.py "$@" --json "$out/engines.json" > "$out/engines.md"
$PY bench/breakdown.py "$@" > "$out/breakdown.md"
$PY bench/load.py "$@" --json "$out/load.json" > "$out/load.md"
echo "results in $out (engines.md, breakdown.md, load.md)"
