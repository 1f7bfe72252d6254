#!/usr/bin/env bash
# DocBERT's inference comparison: bench_inference times the BERT teacher and the LSTM_reg student on the Reuters test
# set at batch 128 and 1 on the CPU and prints docs/s, parameter counts and the ratios (bench/README.md).
# Usage: scripts/bench-inference.sh [bench_inference options]
#   default: random-init BERT-base and LSTM_reg, 2 threads, at most 60 s a row (the teacher's batch-128 row takes
#   longer: at least one batch is timed); e.g. --teacher runs/teacher/best --student runs/student/best --json out.json
# Needs ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build folder of scripts/bench-cpu.sh, with the same options; only this benchmark is built.
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOCBERT_NATIVE=ON -DDOCBERT_BUILD_BENCH=ON \
  -DDOCBERT_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench --target bench_inference >/dev/null
exec build-bench/bin/bench_inference "$@"
