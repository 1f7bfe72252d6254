// bench_gpu_kernels: the bandwidth-bound CUDA kernels against the card's own copy bandwidth, and the cuBLASLt GEMMs
// (kernels/gemm.h) against plain cuBLAS, at BERT-large sizes, measured in the same run (Google Benchmark).
//
// Bandwidth-bound kernels: the honest baseline is a device-to-device cudaMemcpyAsync, one read and one write per
// element. Each kernel's GB/s counts the bytes an ideal fused kernel must move for it (listed per benchmark: e.g.
// LayerNorm backward reads x and dout and updates dx, 16 bytes per f32 element, even where ours makes extra passes
// for dgamma/dbeta), so `vs_copy` = GB/s over the copy's GB/s is the fraction of the roof reached.
// GEMMs: TFLOP/s = 2 M N K / time; the baseline is cublasGemmEx on the same operands (no bias) with the same
// compute type (f32 without TF32, or bf16 operands with f32 accumulation).
//
// Every timed iteration: the L2 is flushed first (a memset of twice its size, untimed), then one launch is timed
// with CUDA events on the compute stream (manual time). Usage: bench_gpu_kernels [--quick] [Google Benchmark flags,
// e.g. --benchmark_out=bench.json --benchmark_out_format=json]. --quick: small sizes, few iterations (a smoke run).
#include "kernels/cuda_check.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "kernels/optim.h"
#include "kernels/runtime.h"
#include "kernels/softmax.h"
#include "kernels/stream.h"
#include "kernels/tensor_ops.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace docbert;

namespace {

bool g_quick = false;
// BERT-large: C = 1024, FFN 4096, 16 heads, T = 512, batch 16.
int64_t rows() { return g_quick ? 1024 : 16 * 512; }  // B * T
constexpr int64_t kC = 1024, kFfn = 4096, kHeads = 16, kT = 512, kVocab = 30522;

// A device buffer of n floats (uniform in [-1, 1] from a fixed host pattern), freed with the benchmark.
struct Buf {
  explicit Buf(int64_t n, DType dtype = DType::F32) : bytes(static_cast<size_t>(n) * dtype_size(dtype)) {
    ptr = cuda::alloc(bytes);
    std::vector<float> host(static_cast<size_t>(n));
    for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1;
    if (dtype == DType::F32) {
      cuda::copy_host_to_device(ptr, host.data(), bytes);
    } else {
      void* tmp = cuda::alloc(host.size() * sizeof(float));
      cuda::copy_host_to_device(tmp, host.data(), host.size() * sizeof(float));
      cuda::cast(ptr, dtype, tmp, DType::F32, n);
      cuda::synchronize();
      cuda::release(tmp);
    }
  }
  ~Buf() { cuda::release(ptr); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  void* ptr;
  size_t bytes;
};

// L2 flush buffer: twice the L2 size.
Buf& flush_buffer() {
  static Buf* b = [] {
    int l2 = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
    return new Buf(std::max<int64_t>(2 * l2 / 4, 1));
  }();
  return *b;
}

// Times launch() with CUDA events after an L2 flush, per iteration; bytes and flops per launch give the counters.
void time_launches(benchmark::State& st, const std::function<void()>& launch, double bytes, double flops) {
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  launch();  // warm-up: module load, cuBLASLt heuristics, allocator cache
  cuda::synchronize();
  for (auto _ : st) {
    Buf& f = flush_buffer();
    CUDA_CHECK(cudaMemsetAsync(f.ptr, 0, f.bytes, cuda::stream()));
    CUDA_CHECK(cudaEventRecord(a, cuda::stream()));
    launch();
    CUDA_CHECK(cudaEventRecord(b, cuda::stream()));
    CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    st.SetIterationTime(ms * 1e-3);
  }
  CUDA_CHECK(cudaEventDestroy(a));
  CUDA_CHECK(cudaEventDestroy(b));
  if (bytes > 0) st.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (flops > 0)
    st.counters["TFLOP/s"] = benchmark::Counter(flops * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["bytes"] = bytes;
}

// ---------------------------------------------------------------------------------------------------
// bandwidth-bound kernels (f32)

void BM_copy(benchmark::State& st) {
  const int64_t n = rows() * kFfn;
  Buf x(n), y(n);
  time_launches(
      st, [&] { CUDA_CHECK(cudaMemcpyAsync(y.ptr, x.ptr, x.bytes, cudaMemcpyDeviceToDevice, cuda::stream())); },
      2.0 * x.bytes, 0);
}

void unary(benchmark::State& st, UnaryOp op, bool backward) {
  const int64_t n = rows() * kFfn;  // the FFN activation
  Buf x(n), y(n), d(n), g(n);
  UnaryParams p;
  p.op = op;
  p.N = n;
  p.out = y.ptr;
  p.inp = x.ptr;
  p.dinp = g.ptr;
  p.dout = d.ptr;
  // forward: read inp, write out; backward (GELU): read inp and dout, update dinp.
  time_launches(
      st, [&] { backward ? cuda::unary_backward(p) : cuda::unary_forward(p); }, (backward ? 16.0 : 8.0) * n, 0);
}
void BM_gelu_forward(benchmark::State& st) { unary(st, UnaryOp::GeluErf, false); }
void BM_gelu_backward(benchmark::State& st) { unary(st, UnaryOp::GeluErf, true); }

void dropout(benchmark::State& st, bool backward) {
  const int64_t n = rows() * kC;
  Buf x(n), y(n), g(n);
  DropoutParams p;
  p.N = n;
  p.p = 0.1;
  p.seed = 42;
  p.out = y.ptr;
  p.inp = x.ptr;
  p.dinp = g.ptr;
  p.dout = x.ptr;
  // forward: read + write; backward: read dout, update dinp.
  time_launches(
      st, [&] { backward ? cuda::dropout_backward(p) : cuda::dropout_forward(p); }, (backward ? 12.0 : 8.0) * n, 0);
}
void BM_dropout_forward(benchmark::State& st) { dropout(st, false); }
void BM_dropout_backward(benchmark::State& st) { dropout(st, true); }

void BM_add_bias(benchmark::State& st) {  // (R, C) + (C)
  Buf a(rows() * kC), b(kC), out(rows() * kC);
  BinaryParams p;
  p.R = rows();
  p.S = kC;
  p.out = out.ptr;
  p.a = a.ptr;
  p.b = b.ptr;
  time_launches(
      st, [&] { cuda::binary_forward(p); }, 8.0 * rows() * kC, 0);
}

void layernorm(benchmark::State& st, bool backward) {
  const int64_t n = rows() * kC;
  Buf x(n), out(n), dout(n), dx(n), gamma(kC), beta(kC), dgamma(kC), dbeta(kC), mean(rows()), rstd(rows());
  LayerNormParams p;
  p.N = rows();
  p.C = kC;
  p.out = out.ptr;
  p.mean = mean.ptr;
  p.rstd = rstd.ptr;
  p.x = x.ptr;
  p.gamma = gamma.ptr;
  p.beta = beta.ptr;
  cuda::layernorm_forward(p);  // mean/rstd for the backward
  p.dx = dx.ptr;
  p.dgamma = dgamma.ptr;
  p.dbeta = dbeta.ptr;
  p.dout = dout.ptr;
  // forward: read x, write out; backward: read x and dout, update dx (the parameter gradients are C-sized).
  time_launches(
      st, [&] { backward ? cuda::layernorm_backward(p) : cuda::layernorm_forward(p); }, (backward ? 16.0 : 8.0) * n, 0);
}
void BM_layernorm_forward(benchmark::State& st) { layernorm(st, false); }
void BM_layernorm_backward(benchmark::State& st) { layernorm(st, true); }

void softmax(benchmark::State& st, bool backward) {  // attention probabilities: (B NH T, T)
  const int64_t r = (g_quick ? 2 : 16) * kHeads * kT, n = r * kT;
  Buf x(n), out(n), dout(n), dx(n);
  SoftmaxParams p;
  p.N = r;
  p.K = kT;
  p.out = out.ptr;
  p.x = x.ptr;
  cuda::softmax_forward(p);
  p.dx = dx.ptr;
  p.dout = dout.ptr;
  // forward: read x, write out; backward: read out and dout, update dx.
  time_launches(
      st, [&] { backward ? cuda::softmax_backward(p) : cuda::softmax_forward(p); }, (backward ? 16.0 : 8.0) * n, 0);
}
void BM_softmax_forward(benchmark::State& st) { softmax(st, false); }
void BM_softmax_backward(benchmark::State& st) { softmax(st, true); }

void BM_embedding_forward(benchmark::State& st) {  // gather B*T rows of the word table
  Buf table(kVocab * kC), out(rows() * kC);
  std::vector<int64_t> ids(static_cast<size_t>(rows()));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>((i * 7919) % kVocab);
  void* ids_d = cuda::alloc(ids.size() * sizeof(int64_t));
  cuda::copy_host_to_device(ids_d, ids.data(), ids.size() * sizeof(int64_t));
  EmbeddingParams p;
  p.N = rows();
  p.V = kVocab;
  p.C = kC;
  p.ids = static_cast<const int64_t*>(ids_d);
  p.table = table.ptr;
  p.out = out.ptr;
  time_launches(
      st, [&] { cuda::embedding_forward(p); }, 8.0 * rows() * kC, 0);  // read the rows, write them
  cuda::synchronize();
  cuda::release(ids_d);
}

void BM_adamw_step(benchmark::State& st) {  // one multi-tensor launch over 4 tensors of 16M elements
  const int64_t n = g_quick ? (1 << 20) : (1 << 24);
  std::vector<std::unique_ptr<Buf>> bufs;
  AdamParams p;
  p.n = 4;
  for (int k = 0; k < p.n; ++k) {
    for (int j = 0; j < 4; ++j) bufs.push_back(std::make_unique<Buf>(n));
    p.numel[k] = n;
    p.p[k] = bufs[bufs.size() - 4]->ptr;
    p.g[k] = bufs[bufs.size() - 3]->ptr;
    p.m[k] = bufs[bufs.size() - 2]->ptr;
    p.v[k] = bufs[bufs.size() - 1]->ptr;
    p.decay[k] = true;
  }
  p.lr = 1e-5;
  p.beta1 = 0.9;
  p.beta2 = 0.999;
  p.eps = 1e-6;
  p.decoupled = 1e-7;
  // p, m, v read and written, g read: 28 bytes per element.
  time_launches(
      st, [&] { cuda::adam_step(p); }, 28.0 * n * p.n, 0);
}

void BM_cast_f32_to_bf16(benchmark::State& st) {
  const int64_t n = rows() * kFfn;
  Buf x(n), y(n, DType::BF16);
  time_launches(
      st, [&] { cuda::cast(y.ptr, DType::BF16, x.ptr, DType::F32, n); }, 6.0 * n, 0);
}

// ---------------------------------------------------------------------------------------------------
// GEMMs at BERT-large shapes: linear (cuBLASLt, bias epilogue) against cublasGemmEx without the bias

struct GemmShape {
  const char* name;
  int64_t in, out;
};
const GemmShape kShapes[] = {{"qkv", kC, 3 * kC}, {"attn_out", kC, kC}, {"ffn1", kC, kFfn}, {"ffn2", kFfn, kC}};

void linear(benchmark::State& st, const GemmShape& s, DType dtype, bool baseline) {
  const int64_t R = rows();
  Buf x(R * s.in, dtype), w(s.out * s.in, dtype), bias(s.out, dtype), out(R * s.out, dtype);
  const double flops = 2.0 * R * s.in * s.out;
  if (!baseline) {
    LinearParams p;
    p.dtype = dtype;
    p.R = R;
    p.IN = s.in;
    p.OUT = s.out;
    p.out = out.ptr;
    p.x = x.ptr;
    p.w = w.ptr;
    p.bias = bias.ptr;
    time_launches(
        st, [&] { cuda::linear_forward(p); }, 0, flops);
    return;
  }
  // Row-major out (R,OUT) = x (R,IN) w^T is column-major out^T (OUT,R) = w (OUT,IN as IN x OUT col-major)^T x^T.
  const cudaDataType t = dtype == DType::F32 ? CUDA_R_32F : CUDA_R_16BF;
  const float one = 1, zero = 0;
  CUBLAS_CHECK(cublasSetMathMode(cuda::blas(), CUBLAS_DEFAULT_MATH));
  time_launches(
      st,
      [&] {
        CUBLAS_CHECK(cublasGemmEx(cuda::blas(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(s.out), static_cast<int>(R),
                                  static_cast<int>(s.in), &one, w.ptr, t, static_cast<int>(s.in), x.ptr, t,
                                  static_cast<int>(s.in), &zero, out.ptr, t, static_cast<int>(s.out),
                                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      },
      0, flops);
}

void register_all() {
  auto reg = [](const std::string& name, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark(name.c_str(), fn)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(g_quick ? 3 : 50);
  };
  reg("copy_d2d", BM_copy);
  reg("gelu_forward", BM_gelu_forward);
  reg("gelu_backward", BM_gelu_backward);
  reg("dropout_forward", BM_dropout_forward);
  reg("dropout_backward", BM_dropout_backward);
  reg("add_bias", BM_add_bias);
  reg("layernorm_forward", BM_layernorm_forward);
  reg("layernorm_backward", BM_layernorm_backward);
  reg("softmax_forward", BM_softmax_forward);
  reg("softmax_backward", BM_softmax_backward);
  reg("embedding_forward", BM_embedding_forward);
  reg("adamw_step", BM_adamw_step);
  reg("cast_f32_to_bf16", BM_cast_f32_to_bf16);
  for (const GemmShape& s : kShapes) {
    for (DType dt : {DType::F32, DType::BF16}) {
      for (bool base : {false, true}) {
        const std::string name =
            fmt::format("gemm_{}_{}_{}", s.name, dt == DType::F32 ? "f32" : "bf16", base ? "cublas" : "cublaslt");
        benchmark::RegisterBenchmark(name.c_str(), [s, dt, base](benchmark::State& st) { linear(st, s, dt, base); })
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond)
            ->Iterations(g_quick ? 3 : 30);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      g_quick = true;
    else
      args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  try {
    std::string why;
    if (cuda::device_count(&why) == 0) {
      fmt::print(stderr, "bench_gpu_kernels: error: no usable CUDA device: {}\n", why);
      return 1;
    }
    fmt::print("device: {}\n", cuda::device_description());
    register_all();
    benchmark::Initialize(&n, args.data());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const Error& e) {
    fmt::print(stderr, "bench_gpu_kernels: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
