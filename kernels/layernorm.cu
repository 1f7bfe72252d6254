// LayerNorm kernels (kernels/layernorm.h). One warp per row, 8 rows per 256-thread block: BERT's rows are C = 768
// (24 values per lane), short enough that a block per row would idle most of its threads in the reductions. Each
// lane walks its row in 16-byte chunks (4 f32 or 8 bf16) when C and the pointers allow, else one element at a
// time; both keep a warp's accesses contiguous. The statistics are two passes in f32 (the mean, then the centred
// variance: no E[x^2] - E[x]^2 cancellation), the row re-read from L1/L2 each pass, so DRAM sees x once and out
// once: forward ~2 N C sizeof(T) bytes, dx ~4 N C sizeof(T) (x, dout, dx read and written). dgamma and dbeta are
// column_sums_into's deterministic two-pass column sums, no atomics.
#include "kernels/layernorm.h"

#include "kernels/common.cuh"

#include <initializer_list>
#include <type_traits>

namespace docbert::cuda {

namespace {

constexpr int kRowsPerBlock = kBlock / 32;

// W consecutive elements as f32: one 16-byte access when W > 1 (W * sizeof(T) == 16), else one scalar.
template <class T, int W>
__device__ __forceinline__ void load(const T* p, float (&v)[W]) {
  if constexpr (W == 1) {
    v[0] = to_f32(*p);
  } else {
    static_assert(W * sizeof(T) == 16, "a vector is 16 bytes");
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < W; ++i) v[i] = to_f32(e[i]);
  }
}
template <class T, int W>
__device__ __forceinline__ void store(T* p, const float (&v)[W]) {
  if constexpr (W == 1) {
    *p = from_f32<T>(v[0]);
  } else {
    uint4 raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int i = 0; i < W; ++i) e[i] = from_f32<T>(v[i]);
    *reinterpret_cast<uint4*>(p) = raw;
  }
}

// out (N,C), mean (N), rstd (N) from x (N,C), gamma (C), beta (C); warp = row.
template <class T, int W>
__global__ void layernorm_forward_kernel(T* out, float* mean, float* rstd, const T* x, const T* gamma, const T* beta,
                                         int64_t N, int64_t C, float eps) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;  // whole warps leave together: the shuffles below see full warps
  const T* xr = x + r * C;
  float sum = 0;
  for (int64_t c = lane * W; c < C; c += 32 * W) {
    float v[W];
    load<T, W>(xr + c, v);
#pragma unroll
    for (int i = 0; i < W; ++i) sum += v[i];
  }
  const float m = warp_sum(sum) / static_cast<float>(C);
  float sq = 0;
  for (int64_t c = lane * W; c < C; c += 32 * W) {
    float v[W];
    load<T, W>(xr + c, v);
#pragma unroll
    for (int i = 0; i < W; ++i) sq += (v[i] - m) * (v[i] - m);
  }
  const float s = 1.0f / sqrtf(warp_sum(sq) / static_cast<float>(C) + eps);
  T* o = out + r * C;
  for (int64_t c = lane * W; c < C; c += 32 * W) {
    float v[W], g[W], b[W];
    load<T, W>(xr + c, v);
    load<T, W>(gamma + c, g);
    load<T, W>(beta + c, b);
#pragma unroll
    for (int i = 0; i < W; ++i) v[i] = (v[i] - m) * s * g[i] + b[i];
    store<T, W>(o + c, v);
  }
  if (lane == 0) {
    mean[r] = m;
    rstd[r] = s;
  }
}

// dx (N,C) += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = gamma * dout; warp = row.
template <class T, int W>
__global__ void layernorm_dx_kernel(T* dx, const T* dout, const T* x, const float* mean, const float* rstd,
                                    const T* gamma, int64_t N, int64_t C) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;
  const T *xr = x + r * C, *dr = dout + r * C;
  const float m = mean[r], s = rstd[r];
  float dnorm_sum = 0, dnorm_norm_sum = 0;
  for (int64_t c = lane * W; c < C; c += 32 * W) {
    float v[W], d[W], g[W];
    load<T, W>(xr + c, v);
    load<T, W>(dr + c, d);
    load<T, W>(gamma + c, g);
#pragma unroll
    for (int i = 0; i < W; ++i) {
      const float dnorm = g[i] * d[i];
      dnorm_sum += dnorm;
      dnorm_norm_sum += dnorm * (v[i] - m) * s;
    }
  }
  const float dnorm_mean = warp_sum(dnorm_sum) / static_cast<float>(C);
  const float dnorm_norm_mean = warp_sum(dnorm_norm_sum) / static_cast<float>(C);
  T* dxr = dx + r * C;
  for (int64_t c = lane * W; c < C; c += 32 * W) {
    float v[W], d[W], g[W], acc[W];
    load<T, W>(xr + c, v);
    load<T, W>(dr + c, d);
    load<T, W>(gamma + c, g);
    load<T, W>(dxr + c, acc);
#pragma unroll
    for (int i = 0; i < W; ++i) acc[i] += (g[i] * d[i] - dnorm_mean - (v[i] - m) * s * dnorm_norm_mean) * s;
    store<T, W>(dxr + c, acc);
  }
}

// column_sums_into terms: dgamma's norm * dout and dbeta's dout at (row r, column c).
template <class T>
struct DgammaTerm {
  const T *x, *dout;
  const float *mean, *rstd;
  int64_t C;
  __device__ float operator()(int64_t r, int64_t c) const {
    return (to_f32(x[r * C + c]) - mean[r]) * rstd[r] * to_f32(dout[r * C + c]);
  }
};
template <class T>
struct DbetaTerm {
  const T* dout;
  int64_t C;
  __device__ float operator()(int64_t r, int64_t c) const { return to_f32(dout[r * C + c]); }
};

// Calls f(std::integral_constant<int, W>{}) with W = the elements of a 16-byte vector when C is a multiple of it
// and every pointer is 16-byte aligned (then so is every row), else W = 1.
template <class T, class F>
void with_width(int64_t C, std::initializer_list<const void*> ptrs, F&& f) {
  constexpr int kVec = 16 / sizeof(T);
  bool vec = C % kVec == 0;
  for (const void* q : ptrs) vec = vec && aligned16(q);
  if (vec) return f(std::integral_constant<int, kVec>{});
  f(std::integral_constant<int, 1>{});
}

void check_sizes(const char* op, const LayerNormParams& p) {
  DOCBERT_CHECK(p.N >= 0 && p.C >= 1, "{}: needs N >= 0 rows of C >= 1, got N {} C {}", op, p.N, p.C);
}

}  // namespace

void layernorm_forward(const LayerNormParams& p) {
  check_sizes("layernorm_forward", p);
  DOCBERT_CHECK(p.eps > 0, "layernorm_forward: eps must be > 0, got {}", p.eps);
  const unsigned grid = grid_1d("layernorm_forward", p.N, kRowsPerBlock);
  if (grid == 0) return;
  dispatch_float(p.dtype, "layernorm_forward", [&](auto tag) {
    using T = decltype(tag);
    auto* out = static_cast<T*>(p.out);
    auto *x = static_cast<const T*>(p.x), *gamma = static_cast<const T*>(p.gamma),
         *beta = static_cast<const T*>(p.beta);
    with_width<T>(p.C, {out, x, gamma, beta}, [&](auto w) {
      layernorm_forward_kernel<T, decltype(w)::value>
          <<<grid, kBlock, 0, stream()>>>(out, static_cast<float*>(p.mean), static_cast<float*>(p.rstd), x, gamma, beta,
                                          p.N, p.C, static_cast<float>(p.eps));
    });
  });
  CUDA_CHECK_LAUNCH();
}

void layernorm_backward(const LayerNormParams& p) {
  check_sizes("layernorm_backward", p);
  if (p.N == 0) return;
  dispatch_float(p.dtype, "layernorm_backward", [&](auto tag) {
    using T = decltype(tag);
    auto *x = static_cast<const T*>(p.x), *gamma = static_cast<const T*>(p.gamma),
         *dout = static_cast<const T*>(p.dout);
    auto *mean = static_cast<const float*>(p.mean), *rstd = static_cast<const float*>(p.rstd);
    if (auto* dx = static_cast<T*>(p.dx)) {
      const unsigned grid = grid_1d("layernorm_backward", p.N, kRowsPerBlock);
      with_width<T>(p.C, {dx, dout, x, gamma}, [&](auto w) {
        layernorm_dx_kernel<T, decltype(w)::value>
            <<<grid, kBlock, 0, stream()>>>(dx, dout, x, mean, rstd, gamma, p.N, p.C);
      });
      CUDA_CHECK_LAUNCH();
    }
    if (p.dgamma)
      column_sums_into("layernorm_backward", static_cast<T*>(p.dgamma), p.N, p.C,
                       DgammaTerm<T>{x, dout, mean, rstd, p.C});
    if (p.dbeta) column_sums_into("layernorm_backward", static_cast<T*>(p.dbeta), p.N, p.C, DbetaTerm<T>{dout, p.C});
  });
}

}  // namespace docbert::cuda
