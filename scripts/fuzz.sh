#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.cpp) with clang + ASan + UBSan and runs each for a short time.
# Seeds: the committed tests/fuzz/seeds/<parser>/ plus excerpts of the real corpora in ../shared/data.
# Usage: scripts/fuzz.sh [SECONDS_PER_HARNESS]   (default 20; DOCBERT_FUZZ_BUILD_DIR, default build-fuzz)
# A crash, a sanitizer report, an exception other than docbert::Error, a >10 s input or >2 GB of memory fails
# the run; the input that did it is saved under <build>/artifacts/ for `<build>/bin/fuzz_<parser> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=${DOCBERT_FUZZ_BUILD_DIR:-build-fuzz}
data=../shared/data
[[ -d "$data" ]] || { echo "fuzz: $data is missing (the shared corpora beside the checkout)" >&2; exit 1; }

harnesses=()
for f in tests/fuzz/fuzz_*.cpp; do harnesses+=("$(basename "$f" .cpp)"); done
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDOCBERT_FUZZ=ON -DDOCBERT_CUDA=OFF -DDOCBERT_BUILD_TESTS=OFF -DDOCBERT_BUILD_BENCH=OFF -DDOCBERT_NATIVE=OFF \
  -DDOCBERT_WERROR=OFF >/dev/null
cmake --build "$build" --target "${harnesses[@]}"

# Real-data excerpts: a few rows of each format (whole articles for SGML: they are long). Producers cut short by
# head get SIGPIPE, which pipefail would turn into a failure: off for these lines.
set +o pipefail
seed_real() {  # seed_real HARNESS NAME < bytes
  mkdir -p "$build/corpus/$1"
  head -c 8192 >"$build/corpus/$1/$2"
}
head -n 3 "$data/reuters21578/docbert-split/reuters_test.tsv" | seed_real fuzz_hedwig_tsv reuters.tsv
head -n 2 "$data/mini-imdb/train.txt" | seed_real fuzz_imdb imdb.txt
head -n 3 "$data/r8-r52/r8-train.txt" | seed_real fuzz_r8_r52 r8.txt
{ printf '\x01'; head -n 3 "$data/r8-r52/r52-train.txt"; } | seed_real fuzz_r8_r52 r52.txt
awk '/<\/REUTERS>/ {print; if (++n == 2) exit; next} {print}' "$data/reuters21578/reut2-000.sgm" |
  seed_real fuzz_reuters_sgml reut2-000-head.sgm
cut -f2 "$data/reuters21578/docbert-split/reuters_validation.tsv" | head -n 2 | seed_real fuzz_wordpiece reuters.txt
head -n 1 "$data/mini-imdb/dev.txt" | cut -f7 | seed_real fuzz_label_file review.txt
set -o pipefail

mkdir -p "$build/artifacts"
status=0
for h in "${harnesses[@]}"; do
  corpus="$build/corpus/$h"
  mkdir -p "$corpus"
  seeds="tests/fuzz/seeds/${h#fuzz_}"
  [[ -d "$seeds" ]] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz: $h for ${secs}s"
  if ! DOCBERT_FUZZ_VOCAB="$data/vocab/bert-base-uncased/vocab.txt" "$build/bin/$h" "$corpus" \
      -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/artifacts/$h-" -print_final_stats=1 >"$build/$h.log" 2>&1; then
    echo "fuzz: $h FAILED; see $build/$h.log and $build/artifacts/" >&2
    tail -n 30 "$build/$h.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$build/$h.log" | tail -n 1 | sed "s/^/  /"
  fi
done
exit $status
