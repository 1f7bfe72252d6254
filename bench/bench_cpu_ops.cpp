// bench_cpu_ops: CPU throughput of the engine's heavy ops at the shapes DocBERT runs, forward and
// forward+backward, reported as GFLOP/s. bench/torch_cpu_ops.py runs the same shapes in PyTorch with the
// same thread count; scripts/bench-cpu.sh runs both and prints the ratio.
//
// Shapes (dimension letters as in docs/architecture.md):
//   BERT-base, one 512-token document: GEMMs (T=512) x (768 -> 2304) fused QKV, (768 -> 3072) FFN up,
//   (3072 -> 768) FFN down; self-attention B=1, T=512, C=768, NH=12.
//   LSTM_reg: B=32 documents, T=256 words, I=300 (word2vec), H=512, one direction.
// FLOP counts (multiply-add = 2): GEMM 2·M·K·N; attention 4·B·NH·T²·HS (QK^T and PV); LSTM 2·B·T·4H·(I+H).
// Backward is counted as 2x the forward (two GEMMs per forward GEMM), so fwd+bwd = 3x forward FLOPs.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/random.h"

#include <benchmark/benchmark.h>

#include <cstdlib>

using namespace docbert;

namespace {

Tensor random_tensor(const Shape& s, uint64_t seed, bool grad = false) {
  Tensor t = Tensor::empty(s);
  RngStream rng{seed, 0};
  uniform_fill(t, -1, 1, rng);
  if (grad) t.set_requires_grad(true);
  return t;
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// args: M, K, N, backward
void BM_linear(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  const bool bwd = state.range(3) != 0;
  Tensor x = random_tensor({M, K}, 1, bwd), w = random_tensor({N, K}, 2, bwd), b = random_tensor({N}, 3, bwd);
  Tensor seed = random_tensor({M, N}, 4);
  for (auto _ : state) {
    if (bwd) {
      linear(x, w, b).backward(seed);
    } else {
      NoGradGuard ng;
      benchmark::DoNotOptimize(linear(x, w, b).raw_data());
    }
  }
  set_flops(state, 2.0 * M * K * N * (bwd ? 3 : 1));
}

// args: B, T, C, NH, backward
void BM_attention(benchmark::State& state) {
  const int64_t B = state.range(0), T = state.range(1), C = state.range(2), NH = state.range(3);
  const bool bwd = state.range(4) != 0;
  Tensor qkv = random_tensor({B, T, 3 * C}, 5, bwd);
  Tensor mask = Tensor::zeros({B, T});
  Tensor seed = random_tensor({B, T, C}, 6);
  for (auto _ : state) {
    if (bwd) {
      self_attention(qkv, mask, NH, 0.0, 0, 0, true).backward(seed);
    } else {
      NoGradGuard ng;
      benchmark::DoNotOptimize(self_attention(qkv, mask, NH, 0.0, 0, 0, false).raw_data());
    }
  }
  set_flops(state, 4.0 * B * T * T * C * (bwd ? 3 : 1));
}

// args: B, T, I, H, backward
void BM_lstm(benchmark::State& state) {
  const int64_t B = state.range(0), T = state.range(1), I = state.range(2), H = state.range(3);
  const bool bwd = state.range(4) != 0;
  Tensor x = random_tensor({B, T, I}, 7, bwd);
  Tensor lengths = Tensor::full({B}, static_cast<double>(T), DType::I64);
  Tensor w_ih = random_tensor({4 * H, I}, 8, bwd), w_hh = random_tensor({4 * H, H}, 9, bwd);
  Tensor b_ih = random_tensor({4 * H}, 10, bwd), b_hh = random_tensor({4 * H}, 11, bwd);
  Tensor seed = random_tensor({B, T, H}, 12);
  for (auto _ : state) {
    if (bwd) {
      lstm_layer(x, lengths, w_ih, w_hh, b_ih, b_hh, false).out.backward(seed);
    } else {
      NoGradGuard ng;
      benchmark::DoNotOptimize(lstm_layer(x, lengths, w_ih, w_hh, b_ih, b_hh, false).out.raw_data());
    }
  }
  set_flops(state, 2.0 * B * T * 4 * H * (I + H) * (bwd ? 3 : 1));
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "bwd"});
  for (int bwd : {0, 1}) {
    b->Args({512, 768, 2304, bwd});
    b->Args({512, 768, 3072, bwd});
    b->Args({512, 3072, 768, bwd});
  }
}

}  // namespace

BENCHMARK(BM_linear)->Apply(gemm_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_attention)
    ->ArgNames({"B", "T", "C", "NH", "bwd"})
    ->Args({1, 512, 768, 12, 0})
    ->Args({1, 512, 768, 12, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_lstm)
    ->ArgNames({"B", "T", "I", "H", "bwd"})
    ->Args({32, 256, 300, 512, 0})
    ->Args({32, 256, 300, 512, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

int main(int argc, char** argv) {
  // Same thread count as the PyTorch side: DOCBERT_THREADS, default 2 (this project's CPU machines).
  const char* t = std::getenv("DOCBERT_THREADS");
  set_num_threads(t ? std::atoi(t) : 2);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
