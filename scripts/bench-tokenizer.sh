#!/usr/bin/env bash
# WordPiece speed: bench_tokenizer (docbert) and bench/hf_tokenizer.py (HF's Rust `tokenizers`) on the same
# Reuters text, one thread each, then a markdown table of MB/s per CPU second and the docbert/HF ratio.
# Usage: scripts/bench-tokenizer.sh [repeats]   (default 5; medians)
# Needs ../shared/data beside the checkout and PyPI for the first run, which creates the venv .cache/venv-hf
# (transformers + tokenizers; tests/golden/wordpiece.py uses the same venv).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
venv=.cache/venv-hf
if [[ ! -x $venv/bin/python ]] || ! $venv/bin/python -c "import tokenizers, transformers" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q transformers==5.24.0 tokenizers==0.23.3 numpy  # the versions of docs/tokenizer.md
fi
# The build folder of scripts/bench-cpu.sh, with the same options; only this benchmark is built.
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOCBERT_NATIVE=ON -DDOCBERT_BUILD_BENCH=ON \
  -DDOCBERT_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench --target bench_tokenizer >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build-bench/bin/bench_tokenizer --benchmark_repetitions="$repeats" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/docbert.json" --benchmark_out_format=json >&2
"$venv/bin/python" bench/hf_tokenizer.py --repeats "$repeats" --json "$out/hf.json"
python3 - "$out/docbert.json" "$out/hf.json" <<'PY'
import json, sys
ours = {b["run_name"]: b["bytes_per_second"] / 1e6 for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median"}
hf = json.load(open(sys.argv[2]))
print(f"{hf['documents']} Reuters documents, {hf['mb']:.2f} MB, 1 thread, MB/s per CPU second (median); "
      f"tokenizers {hf['tokenizers']}\n")
print("| docbert | MB/s | HF tokenizers | MB/s | docbert / HF |")
print("|---|---:|---|---:|---:|")
mine = ours["BM_WordPieceIds/uncased:1"]
for r in hf["results"]:
    print(f"| tokenize_ids (uncased) | {mine:.1f} | {r['name']} | {r['mb_per_s']:.2f} | {mine / r['mb_per_s']:.1f}x |")
enc = ours["BM_WordPieceEncode512"]
print(f"| encode 512 head (uncased) | {enc:.1f} | encode | {hf['results'][0]['mb_per_s']:.2f} | "
      f"{enc / hf['results'][0]['mb_per_s']:.1f}x |")
print(f"\ndocbert, other rows: cased tokenize_ids {ours['BM_WordPieceIds/uncased:0']:.1f} MB/s, "
      f"BasicTokenizer alone {ours['BM_BasicTokenizer']:.1f} MB/s")
PY
