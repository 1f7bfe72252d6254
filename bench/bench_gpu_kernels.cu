// bench_gpu_kernels: bandwidth of the elementwise CUDA kernels (GELU, dropout) against the card's own copy
// bandwidth, measured in the same run.
//
// Both kernels are memory-bound (a few flops per 4-byte element), so the honest baseline is a device-to-device
// cudaMemcpyAsync of the same bytes: it moves one read and one write per element, the same traffic as the
// forward kernels. The backward kernels accumulate (dinp +=), so GELU's moves 3 reads + 1 write and dropout's
// 2 reads + 1 write; their GB/s count those passes.
// Each row: median of `reps` timed launches (CUDA events) after warm-up, on random inputs, rotating over
// enough buffers to exceed the L2 cache. Usage: bench_gpu_kernels [--quick]
#include "kernels/cuda_check.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

namespace {

using docbert::Error;
using namespace docbert;

// Median time (ms) of `reps` launches of fn(i), i = rotating buffer index.
float median_ms(int reps, int nbuf, const std::function<void(int)>& fn) {
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) fn(i % nbuf);  // warm-up: module load, first-touch
  std::vector<float> ms(reps);
  for (int r = 0; r < reps; ++r) {
    CUDA_CHECK(cudaEventRecord(a, cuda::stream()));
    fn(r % nbuf);
    CUDA_CHECK(cudaEventRecord(b, cuda::stream()));
    CUDA_CHECK(cudaEventSynchronize(b));
    CUDA_CHECK(cudaEventElapsedTime(&ms[r], a, b));
  }
  CUDA_CHECK(cudaEventDestroy(a));
  CUDA_CHECK(cudaEventDestroy(b));
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  return ms[reps / 2];
}

void run(bool quick) {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  // 768 x 512 x 16: one BERT-base layer's hidden activations at batch 16, T = 512; x4 for the FFN's GELU.
  const std::vector<int64_t> sizes =
      quick ? std::vector<int64_t>{1 << 20} : std::vector<int64_t>{768LL * 512 * 16, 3072LL * 512 * 16};
  const int reps = quick ? 10 : 50;
  fmt::print("device: {} ({} SMs, L2 {} MB)\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  fmt::print("{:<22} {:>12} {:>10} {:>10} {:>12}\n", "kernel", "N", "ms", "GB/s", "vs copy");
  for (int64_t N : sizes) {
    const size_t bytes = static_cast<size_t>(N) * sizeof(float);
    // Enough buffer sets that one round exceeds L2 several times over.
    const int nbuf = static_cast<int>(std::max<size_t>(2, (size_t(4) * prop.l2CacheSize) / bytes + 1));
    std::vector<float*> x(nbuf), y(nbuf), g(nbuf);
    std::vector<float> host(N);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-4.f, 4.f);
    for (auto& v : host) v = u(rng);
    for (int i = 0; i < nbuf; ++i) {
      CUDA_CHECK(cudaMalloc(&x[i], bytes));
      CUDA_CHECK(cudaMalloc(&y[i], bytes));
      CUDA_CHECK(cudaMalloc(&g[i], bytes));
      CUDA_CHECK(cudaMemcpy(x[i], host.data(), bytes, cudaMemcpyHostToDevice));
      CUDA_CHECK(cudaMemcpy(g[i], host.data(), bytes, cudaMemcpyHostToDevice));
      CUDA_CHECK(cudaMemset(y[i], 0, bytes));
    }
    const float copy_ms = median_ms(reps, nbuf, [&](int i) {
      CUDA_CHECK(cudaMemcpyAsync(y[i], x[i], bytes, cudaMemcpyDeviceToDevice, cuda::stream()));
    });
    auto row = [&](const char* name, int passes, float ms) {
      const double gbs = passes * double(bytes) / (ms * 1e-3) / 1e9;
      const double copy_gbs = 2.0 * double(bytes) / (copy_ms * 1e-3) / 1e9;
      fmt::print("{:<22} {:>12} {:>10.4f} {:>10.0f} {:>11.2f}x\n", name, N, ms, gbs, gbs / copy_gbs);
    };
    row("memcpy D2D (baseline)", 2, copy_ms);
    auto gelu = [&](UnaryOp op, int i, bool backward) {
      UnaryParams p;
      p.op = op;
      p.N = N;
      p.out = y[i];
      p.inp = x[i];
      p.dinp = y[i];
      p.dout = g[i];
      backward ? cuda::unary_backward(p) : cuda::unary_forward(p);
    };
    auto drop = [&](int i, bool backward) {
      DropoutParams p;
      p.N = N;
      p.p = 0.1f;
      p.seed = 42;
      p.out = y[i];
      p.inp = x[i];
      p.dinp = y[i];
      p.dout = g[i];
      backward ? cuda::dropout_backward(p) : cuda::dropout_forward(p);
    };
    row("gelu_forward erf", 2, median_ms(reps, nbuf, [&](int i) { gelu(UnaryOp::GeluErf, i, false); }));
    row("gelu_forward tanh", 2, median_ms(reps, nbuf, [&](int i) { gelu(UnaryOp::GeluTanh, i, false); }));
    // The backward reads inp, out and dout and updates dinp (here out and dinp share a buffer: 3 reads + 1 write).
    row("gelu_backward erf", 4, median_ms(reps, nbuf, [&](int i) { gelu(UnaryOp::GeluErf, i, true); }));
    row("dropout_forward p=.1", 2, median_ms(reps, nbuf, [&](int i) { drop(i, false); }));
    row("dropout_backward p=.1", 3, median_ms(reps, nbuf, [&](int i) { drop(i, true); }));
    CUDA_CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < nbuf; ++i) {
      CUDA_CHECK(cudaFree(x[i]));
      CUDA_CHECK(cudaFree(y[i]));
      CUDA_CHECK(cudaFree(g[i]));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  try {
    run(quick);
  } catch (const Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
