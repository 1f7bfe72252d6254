#!/usr/bin/env bash
# The project's one GPU script. On a GPU machine it runs, with DOCBERT_REQUIRE_GPU=1 (a missing device fails):
#   1. test_gpu: the device runtime and the kernels' own contracts (tests/gpu/test_gpu.cpp);
#   2. the op table's GPU pass: every op-table case on CUDA (f32 and bf16 autocast) against the f64 reference
#      (tests/op_table.h), the optimizers and the models on CUDA against the CPU;
#   3. test_gpu and the op table again under compute-sanitizer's memcheck when it is installed;
#   4. one BERT-large fine-tuning step (bf16, MSL 512, batch 16 and 32) in docbert and in HF transformers + PyTorch;
#   5. bench_gpu_kernels: the bandwidth-bound kernels against a device-to-device copy, the GEMMs against cuBLAS;
# and writes report.md and report.json (card, date, commit, tests, memcheck_errors, figures) into REPORT_DIR,
# exiting non-zero when anything failed. Budget: under 8 minutes on an H100/H200, so one 15-minute lease always
# has room for a rerun; the slow steps (memcheck, the BERT-large steps) have timeouts that keep it there (124 in the
# report: the step ran out of time).
#
# Usage:
#   scripts/gpu-check.sh --build [BUILD_DIR]     configure + build the GPU targets for sm_90 with portable CPU
#                                                flags and copy the non-CUDA shared libraries they need into
#                                                BUILD_DIR/lib, so BUILD_DIR runs on a GPU machine without our
#                                                -dev packages (the CUDA libraries are the machine's own)
#   scripts/gpu-check.sh [BUILD_DIR [REPORT_DIR]] run the checks (defaults: build-gpu, BUILD_DIR/gpu-report)
set -uo pipefail
cd "$(dirname "$0")/.."
targets=(test_gpu test_ops test_engine test_models bench_gpu_kernels bench_bert_step)

if [[ "${1:-}" == "--build" ]]; then
  set -e
  build=${2:-build-gpu}
  scripts/setup.sh
  cmake -S . -B "$build" -G Ninja -DDOCBERT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" \
    -DDOCBERT_NATIVE=OFF -DDOCBERT_BUILD_BENCH=ON -DDOCBERT_BUILD_TESTS=ON >/dev/null
  cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"
  mkdir -p "$build/lib"
  # Every shared library but the C/C++ runtime and CUDA's own (the GPU machine has those): fmt, OpenMP, benchmark...
  for bin in "${targets[@]}"; do
    ldd "$build/bin/$bin" | awk '$3 ~ /^\// {print $3}' | while read -r path; do
      case "$(basename "$path")" in
        libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*|libpthread.so*|libdl.so*|librt.so*) ;;
        libcuda*|libcublas*|libcudart*|libnvrtc*|libnvJitLink*) ;;
        *) cp -L "$path" "$build/lib/" ;;
      esac
    done
  done
  git rev-parse --short HEAD >"$build/commit" 2>/dev/null || true
  echo "gpu-check: built $build (carry it to the GPU machine and run scripts/gpu-check.sh $build)"
  exit 0
fi

build=${1:-build-gpu}
report_dir=${2:-$build/gpu-report}
mkdir -p "$report_dir"
export LD_LIBRARY_PATH="$PWD/$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOCBERT_REQUIRE_GPU=1
report="$report_dir/report.md"
# A copied tree can carry stale git metadata: the commit recorded by --build wins.
commit=$(cat "$build/commit" 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)
card=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)
status=0
{
  echo "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- card: $card"
  echo "- commit: $commit"
} >"$report"

run_step() {  # run_step NAME LOGFILE CMD...: runs CMD, logs it, adds a PASS/FAIL line to the report
  local name=$1 log=$2
  shift 2
  local t0=$SECONDS
  "$@" >"$report_dir/$log" 2>&1
  local rc=$?
  if ((rc == 0)); then echo "- PASS $name ($((SECONDS - t0)) s)" >>"$report"
  else echo "- FAIL $name (exit $rc, $((SECONDS - t0)) s; see $log)" >>"$report"; status=1; fi
  return $rc
}

echo >>"$report"
echo "## Tests" >>"$report"
DOCBERT_TEST_GPU=1 run_step "test_gpu" test_gpu.log "$build/bin/test_gpu" -r junit -o "$report_dir/test_gpu.xml"
DOCBERT_TEST_GPU=1 run_step "op table on cuda (test_ops [op])" ops_gpu.log \
  "$build/bin/test_ops" "[op]" -r junit -o "$report_dir/ops_gpu.xml"
DOCBERT_TEST_GPU=1 run_step "optimizers on cuda (test_engine [cuda])" engine_gpu.log \
  "$build/bin/test_engine" "[cuda]" -r junit -o "$report_dir/engine_gpu.xml"
DOCBERT_TEST_GPU=1 run_step "models on cuda (test_models [cuda])" models_gpu.log \
  "$build/bin/test_models" "[cuda]" -r junit -o "$report_dir/models_gpu.xml"
if command -v compute-sanitizer >/dev/null; then
  DOCBERT_TEST_GPU=1 run_step "compute-sanitizer memcheck test_gpu" memcheck_gpu.log \
    timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/bin/test_gpu" -r compact
  DOCBERT_TEST_GPU=1 run_step "compute-sanitizer memcheck op table" memcheck_ops.log \
    timeout 180 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/bin/test_ops" "[op]" -r compact
  grep -h "ERROR SUMMARY" "$report_dir"/memcheck_*.log | sed 's/^/  /' >>"$report"
else
  echo "- NOT RUN compute-sanitizer (not installed)" >>"$report"
fi

# One BERT-large fine-tuning step (MSL 512, bf16, batch 16 and 32): docbert against HF transformers + PyTorch.
run_step "bench_bert_step (docbert)" bert_step.log timeout 150 "$build/bin/bench_bert_step" --preset large --precision bf16 \
  --batch-sizes 16,32
if python3 -c "import torch, transformers" 2>/dev/null; then
  run_step "hf_bert_step.py (HF transformers + PyTorch)" hf_bert_step.log timeout 150 python3 bench/hf_bert_step.py --batch-sizes 16,32
else
  echo "- NOT RUN hf_bert_step.py (no torch/transformers)" >>"$report"
fi
run_step "bench_gpu_kernels" bench.log "$build/bin/bench_gpu_kernels" --benchmark_out="$report_dir/bench.json" \
  --benchmark_out_format=json

# report.json: the fields every GPU run records (docs/gpu-runs/README.md).
python3 - "$report_dir" "$card" "$commit" <<'PY' || status=1
import glob, json, re, sys, time, xml.etree.ElementTree as ET
out, card, commit = sys.argv[1:4]
tests = {"passed": 0, "failed": 0, "skipped": 0}
for f in glob.glob(out + "/*.xml"):
    for case in ET.parse(f).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None: tests["failed"] += 1
        elif case.find("skipped") is not None: tests["skipped"] += 1
        else: tests["passed"] += 1
errors = 0
for f in glob.glob(out + "/memcheck_*.log"):
    for m in re.finditer(r"ERROR SUMMARY: (\d+)", open(f, errors="replace").read()): errors += int(m.group(1))
figures, lines = {}, []
try:
    bench = {b["name"]: b for b in json.load(open(out + "/bench.json"))["benchmarks"]}
except (OSError, ValueError, KeyError):
    bench = {}
copy = bench.get("copy_d2d", {}).get("GB/s")
if copy:
    figures["copy_bandwidth"] = {"value": copy, "unit": "GB/s", "baseline": None, "baseline_value": None, "ratio": None}
    lines.append("| kernel | GB/s | vs copy |\n|---|---|---|")
    kern = {n: b["GB/s"] for n, b in bench.items() if "GB/s" in b and n != "copy_d2d"}
    for n, v in kern.items():
        figures["bw_" + n] = {"value": v, "unit": "GB/s", "baseline": "copy_d2d", "baseline_value": copy,
                              "ratio": v / copy}
        lines.append(f"| {n} | {v:.0f} | {v / copy:.2f}x |")
    if kern:
        worst = min(kern, key=kern.get)
        figures["kernel_min_fraction_of_copy"] = {"value": kern[worst] / copy, "unit": "fraction",
                                                  "baseline": "copy_d2d", "baseline_value": copy,
                                                  "ratio": kern[worst] / copy, "kernel": worst}
gemm = {n: b["TFLOP/s"] for n, b in bench.items() if "TFLOP/s" in b}
if gemm:
    lines.append("\n| GEMM (BERT-large, B*T = 8192) | cuBLASLt TFLOP/s | cuBLAS TFLOP/s | ratio |\n|---|---|---|---|")
for n, v in gemm.items():
    if n.endswith("_cublaslt") and n.replace("_cublaslt", "_cublas") in gemm:
        base = gemm[n.replace("_cublaslt", "_cublas")]
        key = n.replace("_cublaslt", "")
        figures[key + "_vs_cublas"] = {"value": v, "unit": "TFLOP/s", "baseline": "cublasGemmEx",
                                       "baseline_value": base, "ratio": v / base}
        lines.append(f"| {key} | {v:.1f} | {base:.1f} | {v / base:.2f}x |")
def step_lines(name):
    rows = {}
    try:
        for line in open(out + "/" + name, errors="replace"):
            if line.startswith("{"):
                r = json.loads(line)
                rows[r["batch"]] = r
    except OSError:
        pass
    return rows
ours, hf = step_lines("bert_step.log"), step_lines("hf_bert_step.log")
if ours:
    lines.append("\n| BERT-large step, MSL 512, bf16 | docbert seq/s | HF seq/s | ratio | docbert MFU | HF MFU | docbert peak GiB | HF peak GiB |\n|---|---|---|---|---|---|---|---|")
for b in sorted(ours):
    o, h = ours[b], hf.get(b, {})
    ratio = o["seq_per_s"] / h["seq_per_s"] if h else None
    figures[f"bert_large_step_b{b}_vs_hf"] = {"value": o["seq_per_s"], "unit": "seq/s", "baseline": "HF transformers",
                                              "baseline_value": h.get("seq_per_s"), "ratio": ratio,
                                              "peak_bytes": o["peak_bytes"], "baseline_peak_bytes": h.get("peak_bytes")}
    if b == 32:
        figures["bert_large_step_mfu"] = {"value": o["mfu"], "unit": "fraction", "baseline": "HF transformers",
                                          "baseline_value": h.get("mfu"),
                                          "ratio": o["mfu"] / h["mfu"] if h else None}
    fmt = lambda v, f: format(v, f) if v is not None else "n/a"
    lines.append(f"| batch {b} | {o['seq_per_s']:.1f} | {fmt(h.get('seq_per_s'), '.1f')} | {fmt(ratio, '.2f')}x | "
                 f"{o['mfu']:.3f} | {fmt(h.get('mfu'), '.3f')} | {o['peak_bytes'] / 2**30:.1f} | "
                 f"{fmt(h['peak_bytes'] / 2**30 if h else None, '.1f')} |")
open(out + "/figures.md", "w").write("\n".join(lines) + "\n")
json.dump({"card": card, "date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "commit": commit,
           "tests": tests, "memcheck_errors": errors, "figures": figures}, open(out + "/report.json", "w"), indent=1)
PY
{
  echo
  echo "## Figures (Google Benchmark, CUDA events, L2 flushed; 'vs copy' = GB/s over a D2D copy in the same run)"
  echo
  cat "$report_dir/figures.md" 2>/dev/null
  echo
  echo "report.json: $report_dir/report.json"
} >>"$report"

cat "$report"
exit $status
