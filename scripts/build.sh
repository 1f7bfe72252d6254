#!/usr/bin/env bash
# Configures and builds docbert into build/ (Release). Extra arguments go to cmake, e.g.
#   scripts/build.sh -DDOCBERT_CUDA=OFF
# The CUDA backend is compiled when nvcc is found (DOCBERT_CUDA=AUTO), even on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${DOCBERT_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
