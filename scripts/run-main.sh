#!/usr/bin/env bash
# README command 1: install what is missing, build, run the main job on its embedded default.
# Until the teacher and student land, the main job is the engine demo: a word-embedding classifier trained
# with docbert's autograd + AdamW on the real R8 corpus (CPU, about a minute on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec "${DOCBERT_BUILD_DIR:-build}/bin/engine_demo" "$@"
