// Self-attention on CUDA (kernels/attention.h) as a composition: strided batched GEMMs that read Q, K and V straight
// out of the fused (B,T,3C) projection (kernels/gemm.h) around one row kernel each way (a fused flash-style kernel
// replaces this later).
//   forward:  S = Q K^T / sqrt(HS) (f32)  ->  P = softmax(S + mask), P' = dropout(P)  ->  out = P' V
//   backward: dP' = dout V^T (f32)  ->  dP = dropout(dP'), dS = P (dP - <dP, P>), P'  ->  dV += P'^T dout,
//             dQ += dS K / sqrt(HS), dK += dS^T Q / sqrt(HS)
// A (b, h) pair is one GEMM; each cuBLASLt call batches over the batch rows (stride T*3C in qkv), one per head
// (offset HS).
// The row kernels run one warp per row of T: three passes over the row (max, sum, write), the max and sums reduced
// by warp butterflies (a fixed order: deterministic). Bytes per forward row: 4T read three times (L1 hits after the
// first), T written per output; the backward reads P and dP' and writes dS (and P' under dropout).
#include "kernels/attention.h"

#include "kernels/common.cuh"
#include "kernels/gemm.h"
#include "kernels/philox.h"

#include <cmath>

namespace docbert::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kBlock / kWarp;

// Row r of the (B*NH*T, T) probabilities (flattened element e = r*T + j): calls f(j, keep) for its elements through
// Philox groups of 4 (lane l of the warp takes groups g0 + l, g0 + l + 32, ...; the groups at the row's ends skip the
// lanes of the neighbouring rows), so one philox4x32 serves 4 elements as on the CPU.
template <class F>
__device__ __forceinline__ void for_row_mask(int64_t r, int64_t T, float p, uint64_t seed, uint64_t offset, int lane,
                                             F&& f) {
  const int64_t e0 = r * T;
  for (int64_t g = e0 / 4 + lane; 4 * g < e0 + T; g += kWarp) {
    dropout_mask4(seed, offset, static_cast<uint64_t>(g), p, [&](int l, bool keep) {
      const int64_t j = 4 * g + l - e0;
      if (j >= 0 && j < T) f(j, keep);
    });
  }
}

// Per row r = (b*NH + h)*T + i: x = s + mask[b], P = softmax(x) as engine/ops/math.h's softmax_row computes it
// (exp(x - max) * (1 / sum)), written to p unless null; P' = keep ? P * scale : 0 to pd when dropping (drop > 0).
// p may alias s (f32): each element is read and then written by the same thread.
template <class T>
__global__ void softmax_forward_kernel(const float* s, T* p, T* pd, const T* mask, int64_t rows, int64_t T_, int64_t NH,
                                       float drop, float scale, uint64_t seed, uint64_t offset) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  if (r >= rows) return;  // whole warps leave together: the shuffles below see full warps
  const float* sr = s + r * T_;
  const T* m = mask ? mask + r / (NH * T_) * T_ : nullptr;
  auto x = [&](int64_t j) { return m ? sr[j] + to_f32(m[j]) : sr[j]; };
  float mx = -INFINITY;
  for (int64_t j = lane; j < T_; j += kWarp) mx = fmaxf(mx, x(j));
  mx = warp_max(mx);
  float sum = 0;
  for (int64_t j = lane; j < T_; j += kWarp) sum += expf(x(j) - mx);
  const float inv = 1.0f / warp_sum(sum);
  T* pr = p ? p + r * T_ : nullptr;
  if (drop > 0) {
    T* pdr = pd + r * T_;
    for_row_mask(r, T_, drop, seed, offset, lane, [&](int64_t j, bool keep) {
      const float v = expf(x(j) - mx) * inv;
      if (pr) pr[j] = from_f32<T>(v);
      pdr[j] = from_f32<T>(keep ? v * scale : 0.0f);
    });
  } else {
    for (int64_t j = lane; j < T_; j += kWarp) pr[j] = from_f32<T>(expf(x(j) - mx) * inv);
  }
}

// Per row: dP = keep ? dP' * scale : 0 in place in dp (f32) and P' = keep ? P * scale : 0 to pd when dropping;
// then dS = P (dP - <dP, P>) (softmax_row_backward) to ds, which may alias dp (f32; same thread per element).
template <class T>
__global__ void softmax_backward_kernel(float* dp, T* ds, T* pd, const T* p, int64_t rows, int64_t T_, float drop,
                                        float scale, uint64_t seed, uint64_t offset) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  if (r >= rows) return;
  float* dpr = dp + r * T_;
  const T* pr = p + r * T_;
  if (drop > 0) {
    T* pdr = pd + r * T_;
    for_row_mask(r, T_, drop, seed, offset, lane, [&](int64_t j, bool keep) {
      dpr[j] = keep ? dpr[j] * scale : 0.0f;
      pdr[j] = from_f32<T>(keep ? to_f32(pr[j]) * scale : 0.0f);
    });
    __syncwarp();  // the passes below read elements other lanes wrote
  }
  float dot = 0;
  for (int64_t j = lane; j < T_; j += kWarp) dot += dpr[j] * to_f32(pr[j]);
  dot = warp_sum(dot);
  T* dsr = ds + r * T_;
  for (int64_t j = lane; j < T_; j += kWarp) dsr[j] = from_f32<T>(to_f32(pr[j]) * (dpr[j] - dot));
}

// One operand of the per-(b, h) GEMMs: pair (b, h)'s matrix starts at base + b*per_b + h*per_h elements of dtype,
// its rows ld apart.
struct HeadMat {
  const void* base;
  DType dtype;
  int64_t ld, per_b, per_h;
};

// c_bh (M,N) = alpha op(a_bh) op(b_bh) + beta c_bh for every pair (b, h): one GEMM per head, batched over the batch
// rows. (Batching over the heads instead would interleave the batch elements' columns of out and dqkv, which
// strided batched GEMMs are not documented to allow for their output.)
void head_gemms(const char* op, const AttentionParams& p, int64_t M, int64_t N, int64_t K, const HeadMat& a, bool ta,
                const HeadMat& b, bool tb, const HeadMat& c, float alpha, float beta) {
  auto at = [&](const HeadMat& m, int64_t h) {
    return static_cast<const char*>(m.base) + h * m.per_h * dtype_size(m.dtype);
  };
  for (int64_t h = 0; h < p.NH; ++h) {
    GemmParams g;
    g.op = op;
    g.dtype = a.dtype;
    g.c_dtype = c.dtype;
    g.batch = p.B;
    g.M = M;
    g.N = N;
    g.K = K;
    g.ta = ta;
    g.tb = tb;
    g.alpha = alpha;
    g.beta = beta;
    g.a = at(a, h);
    g.lda = a.ld;
    g.stride_a = a.per_b;
    g.b = at(b, h);
    g.ldb = b.ld;
    g.stride_b = b.per_b;
    g.c = const_cast<char*>(at(c, h));  // c's base came from a mutable pointer (HeadMat holds every operand as const)
    g.ldc = c.ld;
    g.stride_c = c.per_b;
    gemm(g);
  }
}

void check_params(const char* op, const AttentionParams& p) {
  DOCBERT_CHECK(p.B >= 0 && p.T >= 0 && p.C >= 0 && p.NH >= 1 && p.C % p.NH == 0,
                "{}: bad sizes B {} T {} C {} NH {} (C must be a multiple of NH >= 1)", op, p.B, p.T, p.C, p.NH);
  DOCBERT_CHECK(p.dropout_p >= 0 && p.dropout_p < 1, "{}: dropout_p must be in [0, 1), got {}", op, p.dropout_p);
}

// The per-pair layouts of the (B,T,3C) projection (block 0 Q, 1 K, 2 V), of (B,T,C) tensors and of (B,NH,T,T) ones.
struct Layouts {
  const AttentionParams& p;
  int64_t HS() const { return p.C / p.NH; }
  HeadMat qkv(const void* base, int block) const {
    return {static_cast<const char*>(base) + block * p.C * dtype_size(p.dtype), p.dtype, 3 * p.C, p.T * 3 * p.C, HS()};
  }
  HeadMat btc(const void* base) const { return {base, p.dtype, p.C, p.T * p.C, HS()}; }
  HeadMat tt(const void* base, DType dtype) const { return {base, dtype, p.T, p.NH * p.T * p.T, p.T * p.T}; }
};

unsigned row_grid(const char* op, int64_t rows) { return grid_1d(op, rows, kRowsPerBlock); }

}  // namespace

void attention_forward(const AttentionParams& p) {
  const char* op = "self_attention_forward";
  check_params(op, p);
  if (p.B == 0 || p.T == 0 || p.C == 0) return;
  const Layouts L{p};
  const int64_t T = p.T, HS = L.HS(), rows = p.B * p.NH * T, n = rows * T;
  const float scale = static_cast<float>(1 / std::sqrt(static_cast<double>(HS)));
  const float drop = static_cast<float>(p.dropout_p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using E = decltype(tag);
    constexpr bool f32 = std::is_same_v<E, float>;
    const bool save = p.probs != nullptr, dropping = drop > 0;
    // Scores in f32: in the saved probabilities themselves when those are f32, else in scratch. The softmax writes
    // P (saved or not) and, when dropping, P' into a copy when P is saved or in place when it is not.
    Scratch s_buf(f32 && save ? 0 : static_cast<size_t>(n) * sizeof(float));
    Scratch p_buf(!f32 && !save ? static_cast<size_t>(n) * sizeof(E) : 0);
    Scratch d_buf(save && dropping ? static_cast<size_t>(n) * sizeof(E) : 0);
    float* s = f32 && save ? static_cast<float*>(p.probs) : s_buf.as<float>();
    E* work = save ? static_cast<E*>(p.probs) : f32 ? reinterpret_cast<E*>(s) : p_buf.as<E>();
    E* kp = save || !dropping ? work : nullptr;
    E* kpd = dropping ? (save ? d_buf.as<E>() : work) : nullptr;
    const E* pv = kpd ? kpd : work;

    head_gemms(op, p, T, T, HS, L.qkv(p.qkv, 0), false, L.qkv(p.qkv, 1), true, L.tt(s, DType::F32), scale, 0);
    softmax_forward_kernel<E><<<row_grid(op, rows), kBlock, 0, stream()>>>(
        s, kp, kpd, static_cast<const E*>(p.mask), rows, T, p.NH, drop, dropout_scale(drop), p.seed, p.offset);
    CUDA_CHECK_LAUNCH();
    head_gemms(op, p, T, HS, T, L.tt(pv, p.dtype), false, L.qkv(p.qkv, 2), false, L.btc(p.out), 1, 0);
  });
}

void attention_backward(const AttentionParams& p) {
  const char* op = "self_attention_backward";
  check_params(op, p);
  if (!p.dqkv || p.B == 0 || p.T == 0 || p.C == 0) return;
  DOCBERT_CHECK(p.probs, "{}: needs the probabilities saved by the forward", op);
  const Layouts L{p};
  const int64_t T = p.T, HS = L.HS(), rows = p.B * p.NH * T, n = rows * T;
  const float scale = static_cast<float>(1 / std::sqrt(static_cast<double>(HS)));
  const float drop = static_cast<float>(p.dropout_p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using E = decltype(tag);
    constexpr bool f32 = std::is_same_v<E, float>;
    const bool dropping = drop > 0;
    // dP' and dP in f32 scratch; dS over it when f32, else its own; P' only when dropping.
    Scratch dp_buf(static_cast<size_t>(n) * sizeof(float));
    Scratch ds_buf(f32 ? 0 : static_cast<size_t>(n) * sizeof(E));
    Scratch pd_buf(dropping ? static_cast<size_t>(n) * sizeof(E) : 0);
    float* dp = dp_buf.as<float>();
    E* ds = f32 ? reinterpret_cast<E*>(dp) : ds_buf.as<E>();
    E* pd = pd_buf.as<E>();
    const E* probs = static_cast<const E*>(p.probs);
    const E* pv = dropping ? pd : probs;
    const char* dq = static_cast<const char*>(p.dqkv);

    head_gemms(op, p, T, T, HS, L.btc(p.dout), false, L.qkv(p.qkv, 2), true, L.tt(dp, DType::F32), 1, 0);
    softmax_backward_kernel<E><<<row_grid(op, rows), kBlock, 0, stream()>>>(dp, ds, pd, probs, rows, T, drop,
                                                                            dropout_scale(drop), p.seed, p.offset);
    CUDA_CHECK_LAUNCH();
    head_gemms(op, p, T, HS, T, L.tt(pv, p.dtype), true, L.btc(p.dout), false, L.qkv(dq, 2), 1, 1);         // dV
    head_gemms(op, p, T, HS, T, L.tt(ds, p.dtype), false, L.qkv(p.qkv, 1), false, L.qkv(dq, 0), scale, 1);  // dQ
    head_gemms(op, p, T, HS, T, L.tt(ds, p.dtype), true, L.qkv(p.qkv, 0), false, L.qkv(dq, 1), scale, 1);   // dK
  });
}

}  // namespace docbert::cuda
