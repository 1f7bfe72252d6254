// engine/parallel.h: CPU threading.
//
// The CPU path uses OpenMP (Eigen's GEMM does too, when built with -fopenmp). Loops are split statically
// over independent output elements, so results never depend on the thread count: no floating-point
// reduction is ever split across threads (determinism is a rule, see docs/architecture.md).
#pragma once

#include <cstdint>

namespace docbert {

// Sets the number of threads for our loops and for Eigen; n <= 0 means all cores.
void set_num_threads(int n);
int num_threads();

// Calls f(i) for i in [0, n), in parallel when n is at least `grain`. f must write disjoint outputs.
template <class F>
void parallel_for(int64_t n, F&& f, int64_t grain = 4096) {
#pragma omp parallel for schedule(static) if (n >= grain)
  for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace docbert
