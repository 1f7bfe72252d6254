// Optimizer kernels (kernels/optim.h): multi-tensor launches over a chunk table. Block b of a launch works on
// chunk b - start[k] of the tensor k that owns it (start[k] <= b < start[k+1]), kOptimChunk elements; each thread
// takes groups of 4 consecutive elements, one float4 access per operand when the tensor's pointers are 16-byte
// aligned (every chunk starts at a multiple of 4, so one check per tensor suffices). All are memory bound:
//   adam_step     reads p, g, m, v and writes p, m, v: 28 B per element
//   sum_squares   reads g: 4 B per element, f64 squares and sums; then one thread per tensor adds its chunks' sums
//   clip_scale    reads and writes x: 8 B per element; the factor comes from the device norm (no host sync)
//   ema_update    reads shadow, param, writes shadow: 12 B; ema_load reads shadow, writes param: 8 B
// No atomics: the reductions have a fixed shape (thread -> elements, warp shuffles, warps in order, chunks in
// order), so results are the same run to run.
#include "kernels/optim.h"

#include "kernels/common.cuh"

namespace docbert::cuda {

namespace {

// Tensor k of a list owns blocks [start[k], start[k+1]); an empty tensor owns none.
struct ChunkTable {
  int n = 0;
  int64_t start[kOptimMaxTensors + 1] = {};
};

ChunkTable chunk_table(const char* op, DType dtype, int n, const int64_t* numel) {
  DOCBERT_CHECK(dtype == DType::F32, "{}: dtype {} is not supported on cuda (f32)", op, dtype_name(dtype));
  DOCBERT_CHECK(n >= 0 && n <= kOptimMaxTensors, "{}: {} tensors in one list, at most {}", op, n, kOptimMaxTensors);
  ChunkTable t;
  t.n = n;
  for (int k = 0; k < n; ++k) {
    DOCBERT_CHECK(numel[k] >= 0, "{}: tensor {} has {} elements", op, k, numel[k]);
    t.start[k + 1] = t.start[k] + numel[k] / kOptimChunk + (numel[k] % kOptimChunk != 0);
  }
  DOCBERT_CHECK(t.start[n] <= 0x7fffffff, "{}: {} chunks are too many for one launch", op, t.start[n]);
  return t;
}

// The tensor owning block `blk`: the last k with start[k] <= blk, which skips empty tensors (their start equals
// the next one's).
__device__ __forceinline__ int tensor_of(const ChunkTable& t, int64_t blk) {
  int lo = 0, hi = t.n - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (t.start[mid] <= blk)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

__device__ __forceinline__ bool aligned16_dev(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Calls f(k, i0, count) for this thread's groups of count (1..4) consecutive elements of its block's chunk of
// tensor k, in increasing i0.
template <class F>
__device__ __forceinline__ void for_each_group(const ChunkTable& t, const int64_t* numel, F&& f) {
  const int64_t blk = blockIdx.x;
  const int k = tensor_of(t, blk);
  const int64_t c0 = (blk - t.start[k]) * kOptimChunk, N = numel[k];
  const int64_t c1 = c0 + kOptimChunk < N ? c0 + kOptimChunk : N;
  for (int64_t i0 = c0 + 4 * threadIdx.x; i0 < c1; i0 += 4 * blockDim.x)
    f(k, i0, static_cast<int>(c1 - i0 < 4 ? c1 - i0 : 4));
}

// ---------------------------------------------------------------------------------------------------
// Adam

// The step's scalars rounded to f32 once, on the host, as the CPU rounds them to its T.
struct AdamCoef {
  float lr, b1, b2, one_minus_b1, one_minus_b2, eps, bc1, bc2_sqrt, l2, wd;
};

// engine/optim.h's update, in the CPU's order of operations.
__device__ __forceinline__ void adam_one(float& p, float g, float& m, float& v, const AdamCoef& c, float l2, float wd) {
  const float gi = g + l2 * p;
  m = c.b1 * m + c.one_minus_b1 * gi;
  v = c.b2 * v + c.one_minus_b2 * (gi * gi);
  const float update = (m / c.bc1) / (sqrtf(v) / c.bc2_sqrt + c.eps) + wd * p;
  p -= c.lr * update;
}

__global__ void adam_kernel(const __grid_constant__ AdamParams p, const __grid_constant__ ChunkTable t, AdamCoef c) {
  for_each_group(t, p.numel, [&](int k, int64_t i0, int count) {
    float* P = static_cast<float*>(p.p[k]) + i0;
    const float* g = static_cast<const float*>(p.g[k]) + i0;
    float* m = static_cast<float*>(p.m[k]) + i0;
    float* v = static_cast<float*>(p.v[k]) + i0;
    const float l2 = p.decay[k] ? c.l2 : 0.0f, wd = p.decay[k] ? c.wd : 0.0f;
    if (count == 4 && aligned16_dev(P) && aligned16_dev(g) && aligned16_dev(m) && aligned16_dev(v)) {
      float4 pv = *reinterpret_cast<float4*>(P), mv = *reinterpret_cast<float4*>(m), vv = *reinterpret_cast<float4*>(v);
      const float4 gv = *reinterpret_cast<const float4*>(g);
      adam_one(pv.x, gv.x, mv.x, vv.x, c, l2, wd);
      adam_one(pv.y, gv.y, mv.y, vv.y, c, l2, wd);
      adam_one(pv.z, gv.z, mv.z, vv.z, c, l2, wd);
      adam_one(pv.w, gv.w, mv.w, vv.w, c, l2, wd);
      *reinterpret_cast<float4*>(P) = pv;
      *reinterpret_cast<float4*>(m) = mv;
      *reinterpret_cast<float4*>(v) = vv;
      return;
    }
    for (int l = 0; l < count; ++l) adam_one(P[l], g[l], m[l], v[l], c, l2, wd);
  });
}

// ---------------------------------------------------------------------------------------------------
// sums of squares and norms

__device__ __forceinline__ double sq(float x) { return static_cast<double>(x) * static_cast<double>(x); }

// partial[blk] = sum of squares of block blk's chunk: per thread in element order, then a fixed shuffle tree
// within each warp and the warps' sums in warp order.
__global__ void sum_squares_partial_kernel(const __grid_constant__ SumSquaresParams p,
                                           const __grid_constant__ ChunkTable t, double* partial) {
  double acc = 0;
  for_each_group(t, p.numel, [&](int k, int64_t i0, int count) {
    const float* x = static_cast<const float*>(p.x[k]) + i0;
    if (count == 4 && aligned16_dev(x)) {
      const float4 q = *reinterpret_cast<const float4*>(x);
      acc += sq(q.x);
      acc += sq(q.y);
      acc += sq(q.z);
      acc += sq(q.w);
      return;
    }
    for (int l = 0; l < count; ++l) acc += sq(x[l]);
  });
  for (int offset = 16; offset > 0; offset /= 2) acc += __shfl_down_sync(0xffffffffu, acc, offset);
  __shared__ double warp_sums[kBlock / 32];
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0;
    for (int w = 0; w < kBlock / 32; ++w) s += warp_sums[w];
    partial[blockIdx.x] = s;
  }
}

// sumsq[k] = tensor k's chunk sums added in chunk order; one thread per tensor.
__global__ void sum_squares_finish_kernel(double* sumsq, const double* partial, const __grid_constant__ ChunkTable t) {
  const int k = threadIdx.x;
  if (k >= t.n) return;
  double s = 0;
  for (int64_t b = t.start[k]; b < t.start[k + 1]; ++b) s += partial[b];
  sumsq[k] = s;
}

__global__ void global_norm_kernel(double* norm, const double* sumsq, int64_t n) {
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += sumsq[k];
  norm[0] = sqrt(s);
}

__global__ void tensor_norms_kernel(double* norm, const double* sumsq, int64_t n) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < n) norm[k] = sqrt(sumsq[k]);
}

// ---------------------------------------------------------------------------------------------------
// clipping and EMA

__global__ void clip_kernel(const __grid_constant__ ClipParams p, const __grid_constant__ ChunkTable t) {
  const int k = tensor_of(t, blockIdx.x);
  const double norm = p.norm[p.per_tensor ? k : 0];
  const double c = p.max_norm / (norm + 1e-6);
  if (!isfinite(norm) || !(c < 1)) return;  // the whole block: one tensor, one decision
  const float cf = static_cast<float>(c);
  for_each_group(t, p.numel, [&](int kk, int64_t i0, int count) {
    float* x = static_cast<float*>(p.x[kk]) + i0;
    if (count == 4 && aligned16_dev(x)) {
      float4 q = *reinterpret_cast<float4*>(x);
      q.x *= cf, q.y *= cf, q.z *= cf, q.w *= cf;
      *reinterpret_cast<float4*>(x) = q;
      return;
    }
    for (int l = 0; l < count; ++l) x[l] *= cf;
  });
}

__global__ void ema_update_kernel(const __grid_constant__ EmaParams p, const __grid_constant__ ChunkTable t, float d,
                                  float one_minus_d) {
  for_each_group(t, p.numel, [&](int k, int64_t i0, int count) {
    float* s = static_cast<float*>(p.shadow[k]) + i0;
    const float* x = static_cast<const float*>(p.param[k]) + i0;
    if (count == 4 && aligned16_dev(s) && aligned16_dev(x)) {
      float4 sv = *reinterpret_cast<float4*>(s);
      const float4 xv = *reinterpret_cast<const float4*>(x);
      sv.x = d * sv.x + one_minus_d * xv.x;
      sv.y = d * sv.y + one_minus_d * xv.y;
      sv.z = d * sv.z + one_minus_d * xv.z;
      sv.w = d * sv.w + one_minus_d * xv.w;
      *reinterpret_cast<float4*>(s) = sv;
      return;
    }
    for (int l = 0; l < count; ++l) s[l] = d * s[l] + one_minus_d * x[l];
  });
}

__global__ void ema_load_kernel(const __grid_constant__ EmaParams p, const __grid_constant__ ChunkTable t, float den) {
  for_each_group(t, p.numel, [&](int k, int64_t i0, int count) {
    const float* s = static_cast<const float*>(p.shadow[k]) + i0;
    float* x = static_cast<float*>(p.param[k]) + i0;
    if (count == 4 && aligned16_dev(s) && aligned16_dev(x)) {
      const float4 sv = *reinterpret_cast<const float4*>(s);
      *reinterpret_cast<float4*>(x) = make_float4(sv.x / den, sv.y / den, sv.z / den, sv.w / den);
      return;
    }
    for (int l = 0; l < count; ++l) x[l] = s[l] / den;
  });
}

unsigned blocks(const ChunkTable& t) { return static_cast<unsigned>(t.start[t.n]); }

}  // namespace

// ---------------------------------------------------------------------------------------------------
// launchers

void adam_step(const AdamParams& p) {
  const ChunkTable t = chunk_table("adam_step", p.dtype, p.n, p.numel);
  if (blocks(t) == 0) return;
  AdamCoef c;
  c.lr = static_cast<float>(p.lr);
  c.b1 = static_cast<float>(p.beta1);
  c.b2 = static_cast<float>(p.beta2);
  c.one_minus_b1 = static_cast<float>(1 - p.beta1);
  c.one_minus_b2 = static_cast<float>(1 - p.beta2);
  c.eps = static_cast<float>(p.eps);
  c.bc1 = static_cast<float>(p.bc1);
  c.bc2_sqrt = static_cast<float>(p.bc2_sqrt);
  c.l2 = static_cast<float>(p.l2);
  c.wd = static_cast<float>(p.decoupled);
  adam_kernel<<<blocks(t), kBlock, 0, stream()>>>(p, t, c);
  CUDA_CHECK_LAUNCH();
}

void sum_squares(const SumSquaresParams& p) {
  const ChunkTable t = chunk_table("sum_squares", p.dtype, p.n, p.numel);
  if (p.n == 0) return;
  Scratch partial(static_cast<size_t>(t.start[t.n]) * sizeof(double));
  if (blocks(t) > 0) {
    sum_squares_partial_kernel<<<blocks(t), kBlock, 0, stream()>>>(p, t, partial.as<double>());
    CUDA_CHECK_LAUNCH();
  }
  sum_squares_finish_kernel<<<1, kOptimMaxTensors, 0, stream()>>>(p.sumsq, partial.as<double>(), t);
  CUDA_CHECK_LAUNCH();
}

void norms(const NormParams& p) {
  DOCBERT_CHECK(p.n >= 0, "norms: n must be >= 0, got {}", p.n);
  if (p.global) {
    global_norm_kernel<<<1, 1, 0, stream()>>>(p.norm, p.sumsq, p.n);
  } else {
    if (p.n == 0) return;
    tensor_norms_kernel<<<grid_1d("norms", p.n, kBlock), kBlock, 0, stream()>>>(p.norm, p.sumsq, p.n);
  }
  CUDA_CHECK_LAUNCH();
}

void clip_scale(const ClipParams& p) {
  const ChunkTable t = chunk_table("clip_scale", p.dtype, p.n, p.numel);
  if (blocks(t) == 0) return;
  clip_kernel<<<blocks(t), kBlock, 0, stream()>>>(p, t);
  CUDA_CHECK_LAUNCH();
}

void ema_update(const EmaParams& p) {
  const ChunkTable t = chunk_table("ema_update", p.dtype, p.n, p.numel);
  if (blocks(t) == 0) return;
  ema_update_kernel<<<blocks(t), kBlock, 0, stream()>>>(p, t, static_cast<float>(p.decay),
                                                        static_cast<float>(1 - p.decay));
  CUDA_CHECK_LAUNCH();
}

void ema_load(const EmaParams& p) {
  const ChunkTable t = chunk_table("ema_load", p.dtype, p.n, p.numel);
  if (blocks(t) == 0) return;
  ema_load_kernel<<<blocks(t), kBlock, 0, stream()>>>(p, t, static_cast<float>(p.divisor));
  CUDA_CHECK_LAUNCH();
}

}  // namespace docbert::cuda
