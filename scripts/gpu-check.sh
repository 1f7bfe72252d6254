#!/usr/bin/env bash
# The project's one GPU script. On a GPU machine it runs, with DOCBERT_REQUIRE_GPU=1 (a missing device fails):
#   1. test_gpu: the device runtime and the kernels' own contracts (tests/gpu/test_gpu.cpp);
#   2. the op table's GPU pass: every op-table case on CUDA against the f64 reference (tests/op_table.h);
#   3. both again under compute-sanitizer's memcheck when it is installed;
#   4. bench_gpu_kernels: the bandwidth-bound kernels against a device-to-device copy in the same run;
# and writes report.md and report.json (card, date, commit, tests, memcheck_errors, figures) into REPORT_DIR,
# exiting non-zero when anything failed. Budget: under 8 minutes on an H100/H200, so one 15-minute lease always
# has room for a rerun.
#
# Usage:
#   scripts/gpu-check.sh --build [BUILD_DIR]     configure + build the GPU targets for sm_90 with portable CPU
#                                                flags and copy the non-CUDA shared libraries they need into
#                                                BUILD_DIR/lib, so BUILD_DIR runs on a GPU machine without our
#                                                -dev packages (the CUDA libraries are the machine's own)
#   scripts/gpu-check.sh [BUILD_DIR [REPORT_DIR]] run the checks (defaults: build-gpu, BUILD_DIR/gpu-report)
set -uo pipefail
cd "$(dirname "$0")/.."
targets=(test_gpu test_ops bench_gpu_kernels)

if [[ "${1:-}" == "--build" ]]; then
  set -e
  build=${2:-build-gpu}
  scripts/setup.sh
  cmake -S . -B "$build" -G Ninja -DDOCBERT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" \
    -DDOCBERT_NATIVE=OFF -DDOCBERT_BUILD_BENCH=ON -DDOCBERT_BUILD_TESTS=ON >/dev/null
  cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"
  mkdir -p "$build/lib"
  for bin in "${targets[@]}"; do
    ldd "$build/bin/$bin" | awk '$3 ~ /^\// {print $3}' | while read -r path; do
      case "$(basename "$path")" in
        libfmt.so*|libgomp.so*|libbenchmark.so*) cp -L "$path" "$build/lib/" ;;
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
if command -v compute-sanitizer >/dev/null; then
  DOCBERT_TEST_GPU=1 run_step "compute-sanitizer memcheck test_gpu" memcheck_gpu.log \
    compute-sanitizer --tool memcheck --error-exitcode 9 "$build/bin/test_gpu" -r compact
  DOCBERT_TEST_GPU=1 run_step "compute-sanitizer memcheck op table" memcheck_ops.log \
    compute-sanitizer --tool memcheck --error-exitcode 9 "$build/bin/test_ops" "[op]" -r compact
  grep -h "ERROR SUMMARY" "$report_dir"/memcheck_*.log | sed 's/^/  /' >>"$report"
else
  echo "- NOT RUN compute-sanitizer (not installed)" >>"$report"
fi

run_step "bench_gpu_kernels" bench.log "$build/bin/bench_gpu_kernels"
echo >>"$report"
echo "## Kernel bandwidth (median of timed launches; 'vs copy' = GB/s over a D2D memcpy in the same run)" >>"$report"
{ echo '```'; cat "$report_dir/bench.log"; echo '```'; } >>"$report"

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
figures, rows = {}, []
for line in open(out + "/bench.log", errors="replace"):
    m = re.match(r"(\S.*?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x$", line.strip())
    if m: rows.append((m.group(1), int(m.group(2)), float(m.group(4)), float(m.group(5))))
if rows:
    n = max(r[1] for r in rows)
    big = [r for r in rows if r[1] == n]
    copy = [r for r in big if r[0].startswith("memcpy")][0]
    kern = [r for r in big if not r[0].startswith("memcpy")]
    worst = min(kern, key=lambda r: r[3])
    figures["copy_bandwidth"] = {"value": copy[2], "unit": "GB/s", "baseline": None, "baseline_value": None,
                                 "ratio": None, "n": n}
    figures["kernel_min_fraction_of_copy"] = {"value": worst[3], "unit": "fraction", "baseline": "memcpy D2D",
                                              "baseline_value": copy[2], "ratio": worst[3], "kernel": worst[0]}
    for r in kern:
        figures["bw_" + re.sub(r"[^a-z0-9]+", "_", r[0].lower()).strip("_")] = {
            "value": r[2], "unit": "GB/s", "baseline": "memcpy D2D", "baseline_value": copy[2], "ratio": r[3]}
json.dump({"card": card, "date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "commit": commit,
           "tests": tests, "memcheck_errors": errors, "figures": figures}, open(out + "/report.json", "w"), indent=1)
PY
{ echo; echo "report.json: $report_dir/report.json"; } >>"$report"

cat "$report"
exit $status
