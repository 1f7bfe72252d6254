#!/usr/bin/env bash
# The project's one GPU script: the GPU-vs-CPU tests (with DOCBERT_REQUIRE_GPU=1, so a missing device fails),
# the same tests under compute-sanitizer's memcheck when it is installed, and the kernel benchmarks; it ends
# with a compact report (report.md) and non-zero when anything failed.
#
# Usage:
#   scripts/gpu-check.sh --build [BUILD_DIR]     configure + build the GPU targets for sm_90 with portable CPU
#                                                flags and copy the shared libraries they need into BUILD_DIR/lib,
#                                                so BUILD_DIR can run on a GPU machine without our -dev packages
#   scripts/gpu-check.sh [BUILD_DIR [REPORT_DIR]] run the checks (defaults: build-gpu, BUILD_DIR/gpu-report)
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--build" ]]; then
  set -e
  build=${2:-build-gpu}
  scripts/setup.sh
  cmake -S . -B "$build" -G Ninja -DDOCBERT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" \
    -DDOCBERT_NATIVE=OFF -DDOCBERT_BUILD_BENCH=ON -DDOCBERT_BUILD_TESTS=ON >/dev/null
  cmake --build "$build" --target test_gpu bench_gpu_kernels -j"$(nproc)"
  mkdir -p "$build/lib"
  for lib in libfmt.so libgomp.so libcudart.so; do
    path=$(ldd "$build/bin/test_gpu" | awk -v l="$lib" 'index($1, l) == 1 {print $3}')
    [[ -n "$path" ]] && cp -L "$path" "$build/lib/"
  done
  echo "gpu-check: built $build (carry it to the GPU machine and run scripts/gpu-check.sh $build)"
  exit 0
fi

build=${1:-build-gpu}
report_dir=${2:-$build/gpu-report}
mkdir -p "$report_dir"
export LD_LIBRARY_PATH="$PWD/$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
report="$report_dir/report.md"
status=0
{
  echo "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- card: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
  # A copied tree can carry stale git metadata: DOCBERT_COMMIT (set where the build was made) wins.
  echo "- commit: ${DOCBERT_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ local changes)')}"
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
DOCBERT_REQUIRE_GPU=1 run_step "test_gpu (DOCBERT_REQUIRE_GPU=1)" test_gpu.log "$build/bin/test_gpu" -r compact
grep -E "^(All tests passed|test cases:)" "$report_dir/test_gpu.log" | sed 's/^/  /' >>"$report"
if command -v compute-sanitizer >/dev/null; then
  DOCBERT_REQUIRE_GPU=1 run_step "compute-sanitizer memcheck test_gpu" memcheck.log \
    compute-sanitizer --tool memcheck --error-exitcode 9 "$build/bin/test_gpu" -r compact
  grep -E "ERROR SUMMARY" "$report_dir/memcheck.log" | sed 's/^/  /' >>"$report"
else
  echo "- NOT RUN compute-sanitizer (not installed)" >>"$report"
fi

run_step "bench_gpu_kernels" bench.log "$build/bin/bench_gpu_kernels"
echo >>"$report"
echo "## Kernel bandwidth (median of timed launches; 'vs copy' = GB/s over a D2D memcpy in the same run)" >>"$report"
{ echo '```'; cat "$report_dir/bench.log"; echo '```'; } >>"$report"

cat "$report"
exit $status
