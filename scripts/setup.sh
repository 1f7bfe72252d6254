#!/usr/bin/env bash
# Installs the Debian packages docbert builds with, skipping what is already installed (idempotent).
# Usage: scripts/setup.sh [--with-torch]   (--with-torch adds python3-torch for golden fixtures and the
#                                           PyTorch side of the CPU benchmark; tests and builds never need it)
# Debian's python3-torch does its GEMMs through the system libblas.so.3; libopenblas0-pthread makes that
# OpenBLAS instead of the reference BLAS, otherwise the PyTorch baseline would be a strawman.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config git
      libeigen3-dev catch2 libcli11-dev nlohmann-json3-dev libfmt-dev libbenchmark-dev
      libsentencepiece-dev libutf8proc-dev
      wordnet-base  # WordNet index files: the transfer set's part-of-speech lexicon
      clang libclang-rt-dev libomp-dev)  # clang, libFuzzer and OpenMP runtimes: scripts/fuzz.sh
if [[ "${1:-}" == "--with-torch" ]]; then pkgs+=(python3-torch python3-numpy libopenblas0-pthread); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#pkgs[@]} packages already installed"
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
