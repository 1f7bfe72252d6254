#!/usr/bin/env bash
# CPU baseline: runs bench_cpu_ops (docbert) and bench/torch_cpu_ops.py (PyTorch) on the same shapes with the
# same thread count and prints a markdown table of GFLOP/s and the docbert/PyTorch ratio.
# Usage: scripts/bench-cpu.sh [threads]     (default 2; needs scripts/setup.sh --with-torch for the PyTorch side)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOCBERT_THREADS=${1:-2}
scripts/setup.sh --with-torch
# Its own build folder with explicit options, so a cached non-native configuration cannot skew the numbers.
DOCBERT_BUILD_DIR=build-bench scripts/build.sh -DDOCBERT_NATIVE=ON -DDOCBERT_BUILD_BENCH=ON \
  -DDOCBERT_BUILD_TESTS=OFF >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build-bench/bin/bench_cpu_ops --benchmark_min_time=1 --benchmark_out="$out/docbert.json" --benchmark_out_format=json >&2
/usr/bin/python3 bench/torch_cpu_ops.py --json "$out/torch.json" >&2
python3 - "$out/docbert.json" "$out/torch.json" <<'PY'
import json, sys
ours = {b["name"].replace("/real_time", ""): b for b in json.load(open(sys.argv[1]))["benchmarks"]}
ref = json.load(open(sys.argv[2]))
print(f"threads {ref['threads']}, torch {ref['torch']}\n")
print("| op (shape) | docbert ms | docbert GFLOP/s | PyTorch ms | PyTorch GFLOP/s | docbert / PyTorch speed |")
print("|---|---:|---:|---:|---:|---:|")
for r in ref["results"]:
    o = ours[r["name"]]
    ms = o["real_time"]  # benchmark unit is ms
    print(f"| {r['name']} | {ms:.2f} | {o['GFLOP/s']:.1f} | {r['ms']:.2f} | {r['gflops']:.1f} | {r['ms'] / ms:.2f}x |")
PY
