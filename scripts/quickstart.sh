#!/usr/bin/env bash
# The main job, end to end from a fresh clone: set up (npm ci, build, local Postgres/Redis, migrations),
# then `qat run` on the builtin MNIST digits with the zoo's cnn: float training, PTQ baselines, QAT,
# int8 export verified in ONNX Runtime. Prints the float / PTQ / QAT / ONNX comparison table and leaves
# report.json, model.int8.onnx, model.float.onnx, tfjs-int8/, model-card.json and qat-model/ in
# ${OUT:-qat-out}. Extra arguments go to `qat run` (e.g. --epochs 1, --observer mse, --width 2).
# The service demo (API + worker + API key) is scripts/service.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

node bin/qat.js run --data builtin:mnist --model zoo:cnn --out "${OUT:-qat-out}" "$@"
