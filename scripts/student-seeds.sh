#!/usr/bin/env bash
# LSTM_reg and KD-LSTM_reg over several seeds (docs/results.md's student table): the same student trained on the
# labels alone and distilled from TEACHER_DIR, one run per seed, then each one's test micro-F1 mean and standard
# deviation. Seeds change the student's init, dropout and batch order; the transfer set (--augment-seed) and so the
# teacher's cached logits stay the same.
# Usage: [SEEDS="1 2 3 4 5"] [KINDS="lstm-reg kd-lstm-reg"] scripts/student-seeds.sh TEACHER_DIR OUT_DIR [options...]
#   (two sweeps can share the cores: KINDS=lstm-reg ... --threads 1 & KINDS=kd-lstm-reg ... --threads 1)
#   e.g. scripts/student-seeds.sh runs/teacher/best runs/seeds --config configs/reuters-cpu-student.toml
set -euo pipefail
(($# >= 2)) || { echo "usage: scripts/student-seeds.sh TEACHER_DIR OUT_DIR [distill_student options...]" >&2; exit 2; }
teacher=$1 out=$2
shift 2
bin=${DOCBERT_BUILD_DIR:-build}/bin
seeds=${SEEDS:-"1 2 3 4 5"} kinds=${KINDS:-"lstm-reg kd-lstm-reg"}
mkdir -p "$out"
for kind in $kinds; do
  for seed in $seeds; do
    run=$out/$kind-seed$seed
    if [[ -f $run/results.json ]]; then continue; fi  # done before: rerunning the script resumes the sweep
    extra=()
    if [[ $kind == kd-lstm-reg ]]; then extra=(--teacher "$teacher"); fi
    "$bin/distill_student" "$@" "${extra[@]}" --seed "$seed" --output-dir "$run" --overwrite --no-progress \
      >"$run.log" 2>&1
    grep '^dev micro-F1' "$run.log"
  done
done
# One line per kind: test micro-F1 of each seed, mean and sample standard deviation.
for kind in $kinds; do
  for seed in $seeds; do sed -n 's/^dev micro-F1 [0-9.]*  test micro-F1 \([0-9.]*\).*/\1/p' "$out/$kind-seed$seed.log"; done |
    awk -v kind="$kind" '{ x[NR] = $1; s += $1 } END {
      m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2
      sd = NR > 1 ? sqrt(v / (NR - 1)) : 0
      printf "%-12s test micro-F1 over %d seeds: %.4f +- %.4f (", kind, NR, m, sd
      for (i = 1; i <= NR; i++) printf "%s%.4f", (i > 1 ? " " : ""), x[i]; print ")" }'
done
