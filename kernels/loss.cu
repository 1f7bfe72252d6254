// Loss kernels (kernels/loss.h): each loss is one pass over its inputs forward, one backward, math in f32 for f32 and
// bf16 storage alike, with loss.h's stable formulas (max-subtracted logsumexp, softplus through log1p(exp(-|x|))).
//
// Forward, (B,K) losses: one warp per row (kBlock / 32 rows per block), lanes striding over k so each warp-wide load
// is 32 consecutive elements; the lanes' partial states merge through a shuffle butterfly, lane 0 writes the row's
// partial (and logsumexps). The logsumexp is online (running max m and s = sum exp(v - m), rescaled when m grows),
// so the row is read once; kl_div_softmax carries a third sum, weighted like s, for E_p[a - c]. No vector loads
// there: a loss reads B*K logits once (a few hundred KB at most), next to the GEMM that made them.
// Forward, mse: one block per kMseChunk = 4096 elements (16 per thread, as 4 16-byte loads per operand for aligned
// f32): the AR/TAR regularisers run it over whole LSTM outputs, memory bound at 8 bytes per element.
// Then one block adds the P partials in a fixed tree (loss_sum_kernel): deterministic, no atomics.
// Backward: one thread per element (per 4 for mse, vectorised like the forward), reading dL from the device.
#include "kernels/loss.h"

#include "kernels/common.cuh"

#include <cmath>

#include <type_traits>

namespace docbert::cuda {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kBlock / kWarp;
static_assert(kMseChunk % (4 * kBlock) == 0, "an mse chunk is whole float4 rounds of the block");

__device__ __forceinline__ float sigmoid_f(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

__device__ __forceinline__ float softplus_f(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

// The sum of v over the block (kBlock threads), in thread 0: warp sums, then the first warp adds them in order.
__device__ float block_sum(float v) {
  __shared__ float warp_sums[kBlock / kWarp];
  v = warp_sum(v);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp != 0) return 0;
  return warp_sum(lane < kBlock / kWarp ? warp_sums[lane] : 0.0f);
}

// Online logsumexp of the values v added: m = max v, s = sum exp(v - m), and w = sum exp(v - m) u of weights u
// given with them (so w / s is the softmax-weighted mean of u). Empty: m = -inf, s = w = 0.
struct OnlineLse {
  float m = -INFINITY, s = 0, w = 0;

  __device__ void add(float v, float u = 0) {
    if (v > m) {
      const float r = expf(m - v);  // 0 for the first value
      s = s * r + 1;
      w = w * r + u;
      m = v;
    } else {
      const float e = expf(v - m);
      s += e;
      w += e * u;
    }
  }
  // Merges the 32 lanes' states; every lane ends with the row's state.
  __device__ void warp_merge() {
    for (int o = kWarp / 2; o > 0; o >>= 1) {
      const float m2 = __shfl_xor_sync(kFullMask, m, o), s2 = __shfl_xor_sync(kFullMask, s, o),
                  w2 = __shfl_xor_sync(kFullMask, w, o);
      const float mm = fmaxf(m, m2);
      if (mm == -INFINITY) continue;  // both empty (K < 32)
      const float r1 = expf(m - mm), r2 = expf(m2 - mm);
      s = s * r1 + s2 * r2;
      w = w * r1 + w2 * r2;
      m = mm;
    }
  }
  __device__ float value() const { return m + logf(s); }
};

// The warp's row (uniform across its lanes, so a warp leaves a kernel as a whole) and the lane.
__device__ __forceinline__ int64_t warp_row() {
  return static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
}
__device__ __forceinline__ int lane_id() { return threadIdx.x % kWarp; }

__device__ __forceinline__ int64_t thread_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// ---------------------------------------------------------------------------------------------------
// forward kernels: partial (B or P) and the logsumexps

// losses (B) = lse[b] - z[b, targets[b]],  lse (B) = logsumexp(z[b]);  z = logits (B,K)
template <class T>
__global__ void cross_entropy_forward_kernel(float* losses, float* lse, const T* logits, const int64_t* targets,
                                             int64_t B, int64_t K) {
  const int64_t b = warp_row();
  if (b >= B) return;
  const T* z = logits + b * K;
  OnlineLse st;
  for (int64_t k = lane_id(); k < K; k += kWarp) st.add(to_f32(z[k]));
  st.warp_merge();
  if (lane_id() == 0) {
    const float l = st.value();
    lse[b] = l;
    losses[b] = l - to_f32(z[targets[b]]);
  }
}

// losses (B) = sum_k max(z,0) - z y + log1p(exp(-|z|));  z = logits, y = targets (B,K). A target outside [0, 1]
// (or NaN) makes the row NaN: the CPU throws there, a check here would cost a host sync.
template <class T>
__global__ void bce_with_logits_forward_kernel(float* losses, const T* logits, const T* targets, int64_t B, int64_t K) {
  const int64_t b = warp_row();
  if (b >= B) return;
  float acc = 0;
  for (int64_t i = b * K + lane_id(); i < (b + 1) * K; i += kWarp) {
    const float z = to_f32(logits[i]), y = to_f32(targets[i]);
    acc += y >= 0.0f && y <= 1.0f ? fmaxf(z, 0.0f) - z * y + log1pf(expf(-fabsf(z))) : NAN;
  }
  acc = warp_sum(acc);
  if (lane_id() == 0) losses[b] = acc;
}

// rows (B) = KL_b = sum_k p_k (log p_k - log q_k) = E_p[a - c] - lse_t[b] + lse_s[b], with p = softmax(a),
// q = softmax(c), a = teacher[b] inv_t, c = student[b] inv_t (B,K); lse_s, lse_t (B) the rows' logsumexps.
template <class T>
__global__ void kl_div_softmax_forward_kernel(float* rows, float* lse_s, float* lse_t, const T* student,
                                              const T* teacher, float inv_t, int64_t B, int64_t K) {
  const int64_t b = warp_row();
  if (b >= B) return;
  OnlineLse s, t;
  for (int64_t i = b * K + lane_id(); i < (b + 1) * K; i += kWarp) {
    const float a = to_f32(teacher[i]) * inv_t, c = to_f32(student[i]) * inv_t;
    t.add(a, a - c);
    s.add(c);
  }
  s.warp_merge();
  t.warp_merge();
  if (lane_id() == 0) {
    const float ls = s.value(), lt = t.value();
    lse_s[b] = ls;
    lse_t[b] = lt;
    rows[b] = t.w / t.s - (lt - ls);
  }
}

// rows (B) = sum_k p (softplus(-c) - softplus(-a)) + (1-p) (softplus(c) - softplus(a)),  p = sigmoid(a),
// 1-p = sigmoid(-a), a = teacher inv_t, c = student inv_t (B,K)
template <class T>
__global__ void kl_div_bernoulli_forward_kernel(float* rows, const T* student, const T* teacher, float inv_t, int64_t B,
                                                int64_t K) {
  const int64_t b = warp_row();
  if (b >= B) return;
  float acc = 0;
  for (int64_t i = b * K + lane_id(); i < (b + 1) * K; i += kWarp) {
    const float a = to_f32(teacher[i]) * inv_t, c = to_f32(student[i]) * inv_t;
    acc += sigmoid_f(a) * (softplus_f(-c) - softplus_f(-a)) + sigmoid_f(-a) * (softplus_f(c) - softplus_f(a));
  }
  acc = warp_sum(acc);
  if (lane_id() == 0) rows[b] = acc;
}

// chunks (P) = sum of (a - b)^2 over chunk blockIdx.x (kMseChunk elements) of a, b (N). Vec: a full chunk of
// 16-byte aligned f32, read as float4.
template <class T, bool Vec>
__global__ void mse_forward_kernel(float* chunks, const T* a, const T* b, int64_t N) {
  const int64_t c0 = static_cast<int64_t>(blockIdx.x) * kMseChunk, c1 = c0 + kMseChunk < N ? c0 + kMseChunk : N;
  float acc = 0;
  bool done = false;
  if constexpr (Vec) {
    if (c1 - c0 == kMseChunk) {
      for (int j = 0; j < kMseChunk / (4 * kBlock); ++j) {
        const int64_t i = c0 + 4 * (threadIdx.x + static_cast<int64_t>(j) * kBlock);
        const float4 x = *reinterpret_cast<const float4*>(a + i), y = *reinterpret_cast<const float4*>(b + i);
        const float dx = x.x - y.x, dy = x.y - y.y, dz = x.z - y.z, dw = x.w - y.w;
        acc += dx * dx + dy * dy + dz * dz + dw * dw;
      }
      done = true;
    }
  }
  if (!done) {
    for (int64_t i = c0 + threadIdx.x; i < c1; i += kBlock) {
      const float d = to_f32(a[i]) - to_f32(b[i]);
      acc += d * d;
    }
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) chunks[blockIdx.x] = acc;
}

// loss () = scale * sum of partial (P): each thread adds a strided subset in order, then block_sum.
template <class T>
__global__ void loss_sum_kernel(T* loss, const float* partial, int64_t P, float scale) {
  float acc = 0;
  for (int64_t i = threadIdx.x; i < P; i += kBlock) acc += partial[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) *loss = from_f32<T>(acc * scale);
}

// ---------------------------------------------------------------------------------------------------
// backward kernels: one thread per element i of (B,K), row b = i / K; c = dL * scale, dL read from dloss ()

template <class T>
__device__ __forceinline__ void accumulate(T* d, int64_t i, float g) {
  d[i] = from_f32<T>(to_f32(d[i]) + g);
}

// dlogits += (softmax(z[b])[k] - [k == targets[b]]) c,  c = dL / B
template <class T>
__global__ void cross_entropy_backward_kernel(T* dlogits, const T* logits, const float* lse, const int64_t* targets,
                                              const T* dloss, float scale, int64_t B, int64_t K) {
  const int64_t i = thread_index();
  if (i >= B * K) return;
  const int64_t b = i / K;
  const float c = to_f32(*dloss) * scale;
  const float onehot = (i - b * K == targets[b]) ? 1.0f : 0.0f;
  accumulate(dlogits, i, (expf(to_f32(logits[i]) - lse[b]) - onehot) * c);
}

// dlogits += (sigmoid(z) - y) c,  dtargets += -z c,  c = dL / (B K); either may be null
template <class T>
__global__ void bce_with_logits_backward_kernel(T* dlogits, T* dtargets, const T* logits, const T* targets,
                                                const T* dloss, float scale, int64_t N) {
  const int64_t i = thread_index();
  if (i >= N) return;
  const float c = to_f32(*dloss) * scale, z = to_f32(logits[i]);
  if (dlogits) accumulate(dlogits, i, (sigmoid_f(z) - to_f32(targets[i])) * c);
  if (dtargets) accumulate(dtargets, i, -z * c);
}

// dstudent += (q - p) c,  dteacher += p (log p - log q - KL_b) c,  c = T dL / B; either may be null
template <class T>
__global__ void kl_div_softmax_backward_kernel(T* dstudent, T* dteacher, const T* student, const T* teacher,
                                               const float* rows, const float* lse_s, const float* lse_t,
                                               const T* dloss, float inv_t, float scale, int64_t B, int64_t K) {
  const int64_t i = thread_index();
  if (i >= B * K) return;
  const int64_t b = i / K;
  const float c = to_f32(*dloss) * scale;
  const float log_p = to_f32(teacher[i]) * inv_t - lse_t[b], log_q = to_f32(student[i]) * inv_t - lse_s[b];
  const float p = expf(log_p);
  if (dstudent) accumulate(dstudent, i, (expf(log_q) - p) * c);
  if (dteacher) accumulate(dteacher, i, p * (log_p - log_q - rows[b]) * c);
}

// dstudent += (sigmoid(cs) - sigmoid(a)) c,  dteacher += sigmoid(a) sigmoid(-a) (a - cs) c,  c = T dL / B,
// a and cs the scaled teacher and student logits; either may be null
template <class T>
__global__ void kl_div_bernoulli_backward_kernel(T* dstudent, T* dteacher, const T* student, const T* teacher,
                                                 const T* dloss, float inv_t, float scale, int64_t N) {
  const int64_t i = thread_index();
  if (i >= N) return;
  const float c = to_f32(*dloss) * scale;
  const float a = to_f32(teacher[i]) * inv_t, cs = to_f32(student[i]) * inv_t;
  if (dstudent) accumulate(dstudent, i, (sigmoid_f(cs) - sigmoid_f(a)) * c);
  if (dteacher) accumulate(dteacher, i, sigmoid_f(a) * sigmoid_f(-a) * (a - cs) * c);
}

// da += (a - b) c,  db -= (a - b) c,  c = 2 dL / N; either may be null. One thread per 4 elements; Vec: 16-byte
// aligned f32 (every non-null pointer), a full group moved as float4.
template <class T, bool Vec>
__global__ void mse_backward_kernel(T* da, T* db, const T* a, const T* b, const T* dloss, float scale, int64_t N) {
  const int64_t i0 = 4 * thread_index();
  if (i0 >= N) return;
  const float c = to_f32(*dloss) * scale;
  if constexpr (Vec) {
    if (i0 + 3 < N) {
      const float4 x = *reinterpret_cast<const float4*>(a + i0), y = *reinterpret_cast<const float4*>(b + i0);
      const float4 g = make_float4((x.x - y.x) * c, (x.y - y.y) * c, (x.z - y.z) * c, (x.w - y.w) * c);
      if (da) {
        float4 d = *reinterpret_cast<float4*>(da + i0);
        d.x += g.x;
        d.y += g.y;
        d.z += g.z;
        d.w += g.w;
        *reinterpret_cast<float4*>(da + i0) = d;
      }
      if (db) {
        float4 d = *reinterpret_cast<float4*>(db + i0);
        d.x -= g.x;
        d.y -= g.y;
        d.z -= g.z;
        d.w -= g.w;
        *reinterpret_cast<float4*>(db + i0) = d;
      }
      return;
    }
  }
  for (int64_t i = i0; i < i0 + 4 && i < N; ++i) {
    const float g = (to_f32(a[i]) - to_f32(b[i])) * c;
    if (da) accumulate(da, i, g);
    if (db) accumulate(db, i, -g);
  }
}

// ---------------------------------------------------------------------------------------------------
// launch helpers

void check_rows(const char* op, const LossParams& p) {
  DOCBERT_CHECK(p.B > 0 && p.K > 0, "{}: B and K must be positive, got B = {}, K = {}", op, p.B, p.K);
}
void check_temperature(const char* op, const LossParams& p) {
  DOCBERT_CHECK(p.temperature > 0, "{}: temperature must be positive, got {}", op, p.temperature);
}
void check_dloss(const char* op, const LossParams& p) {
  DOCBERT_CHECK(p.dloss != nullptr, "{}: the loss's gradient (dloss) is null", op);
}

unsigned row_grid(const char* op, int64_t B) { return grid_1d(op, B, kRowsPerBlock); }

// loss = scale * sum of the P partials, in one block.
template <class T>
void sum_partials(const LossParams& p, int64_t P, double scale) {
  loss_sum_kernel<T><<<1, kBlock, 0, stream()>>>(static_cast<T*>(p.loss), static_cast<const float*>(p.partial), P,
                                                 static_cast<float>(scale));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// launchers

void cross_entropy_forward(const LossParams& p) {
  const char* op = "cross_entropy_forward";
  check_rows(op, p);
  DOCBERT_CHECK(p.targets != nullptr, "{}: targets is null", op);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_forward_kernel<T><<<row_grid(op, p.B), kBlock, 0, stream()>>>(
        static_cast<float*>(p.partial), static_cast<float*>(p.lse_x), static_cast<const T*>(p.x), p.targets, p.B, p.K);
    CUDA_CHECK_LAUNCH();
    sum_partials<T>(p, p.B, 1.0 / static_cast<double>(p.B));
  });
}

void cross_entropy_backward(const LossParams& p) {
  const char* op = "cross_entropy_backward";
  check_rows(op, p);
  if (!p.dx) return;
  check_dloss(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_backward_kernel<T><<<grid_1d(op, p.B * p.K, kBlock), kBlock, 0, stream()>>>(
        static_cast<T*>(p.dx), static_cast<const T*>(p.x), static_cast<const float*>(p.lse_x), p.targets,
        static_cast<const T*>(p.dloss), static_cast<float>(1.0 / static_cast<double>(p.B)), p.B, p.K);
    CUDA_CHECK_LAUNCH();
  });
}

void bce_with_logits_forward(const LossParams& p) {
  const char* op = "bce_with_logits_forward";
  check_rows(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    bce_with_logits_forward_kernel<T><<<row_grid(op, p.B), kBlock, 0, stream()>>>(
        static_cast<float*>(p.partial), static_cast<const T*>(p.x), static_cast<const T*>(p.y), p.B, p.K);
    CUDA_CHECK_LAUNCH();
    sum_partials<T>(p, p.B, 1.0 / static_cast<double>(p.B * p.K));
  });
}

void bce_with_logits_backward(const LossParams& p) {
  const char* op = "bce_with_logits_backward";
  check_rows(op, p);
  if (!p.dx && !p.dy) return;
  check_dloss(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const int64_t N = p.B * p.K;
    bce_with_logits_backward_kernel<T><<<grid_1d(op, N, kBlock), kBlock, 0, stream()>>>(
        static_cast<T*>(p.dx), static_cast<T*>(p.dy), static_cast<const T*>(p.x), static_cast<const T*>(p.y),
        static_cast<const T*>(p.dloss), static_cast<float>(1.0 / static_cast<double>(N)), N);
    CUDA_CHECK_LAUNCH();
  });
}

void kl_div_softmax_forward(const LossParams& p) {
  const char* op = "kl_div_softmax_forward";
  check_rows(op, p);
  check_temperature(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    kl_div_softmax_forward_kernel<T><<<row_grid(op, p.B), kBlock, 0, stream()>>>(
        static_cast<float*>(p.partial), static_cast<float*>(p.lse_x), static_cast<float*>(p.lse_y),
        static_cast<const T*>(p.x), static_cast<const T*>(p.y), static_cast<float>(1.0 / p.temperature), p.B, p.K);
    CUDA_CHECK_LAUNCH();
    sum_partials<T>(p, p.B, p.temperature * p.temperature / static_cast<double>(p.B));
  });
}

void kl_div_softmax_backward(const LossParams& p) {
  const char* op = "kl_div_softmax_backward";
  check_rows(op, p);
  check_temperature(op, p);
  if (!p.dx && !p.dy) return;
  check_dloss(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    kl_div_softmax_backward_kernel<T><<<grid_1d(op, p.B * p.K, kBlock), kBlock, 0, stream()>>>(
        static_cast<T*>(p.dx), static_cast<T*>(p.dy), static_cast<const T*>(p.x), static_cast<const T*>(p.y),
        static_cast<const float*>(p.partial), static_cast<const float*>(p.lse_x), static_cast<const float*>(p.lse_y),
        static_cast<const T*>(p.dloss), static_cast<float>(1.0 / p.temperature),
        static_cast<float>(p.temperature / static_cast<double>(p.B)), p.B, p.K);
    CUDA_CHECK_LAUNCH();
  });
}

void kl_div_bernoulli_forward(const LossParams& p) {
  const char* op = "kl_div_bernoulli_forward";
  check_rows(op, p);
  check_temperature(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    kl_div_bernoulli_forward_kernel<T><<<row_grid(op, p.B), kBlock, 0, stream()>>>(
        static_cast<float*>(p.partial), static_cast<const T*>(p.x), static_cast<const T*>(p.y),
        static_cast<float>(1.0 / p.temperature), p.B, p.K);
    CUDA_CHECK_LAUNCH();
    sum_partials<T>(p, p.B, p.temperature * p.temperature / static_cast<double>(p.B));
  });
}

void kl_div_bernoulli_backward(const LossParams& p) {
  const char* op = "kl_div_bernoulli_backward";
  check_rows(op, p);
  check_temperature(op, p);
  if (!p.dx && !p.dy) return;
  check_dloss(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const int64_t N = p.B * p.K;
    kl_div_bernoulli_backward_kernel<T><<<grid_1d(op, N, kBlock), kBlock, 0, stream()>>>(
        static_cast<T*>(p.dx), static_cast<T*>(p.dy), static_cast<const T*>(p.x), static_cast<const T*>(p.y),
        static_cast<const T*>(p.dloss), static_cast<float>(1.0 / p.temperature),
        static_cast<float>(p.temperature / static_cast<double>(p.B)), N);
    CUDA_CHECK_LAUNCH();
  });
}

void mse_forward(const LossParams& p) {
  const char* op = "mse_forward";
  DOCBERT_CHECK(p.N > 0, "{}: N must be positive, got {}", op, p.N);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    auto *a = static_cast<const T*>(p.x), *b = static_cast<const T*>(p.y);
    auto* chunks = static_cast<float*>(p.partial);
    const unsigned grid = grid_1d(op, p.N, static_cast<int>(kMseChunk));
    if (std::is_same_v<T, float> && aligned16(a) && aligned16(b))
      mse_forward_kernel<T, std::is_same_v<T, float>><<<grid, kBlock, 0, stream()>>>(chunks, a, b, p.N);
    else
      mse_forward_kernel<T, false><<<grid, kBlock, 0, stream()>>>(chunks, a, b, p.N);
    CUDA_CHECK_LAUNCH();
    sum_partials<T>(p, mse_chunks(p.N), 1.0 / static_cast<double>(p.N));
  });
}

void mse_backward(const LossParams& p) {
  const char* op = "mse_backward";
  DOCBERT_CHECK(p.N > 0, "{}: N must be positive, got {}", op, p.N);
  if (!p.dx && !p.dy) return;
  check_dloss(op, p);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    auto *da = static_cast<T*>(p.dx), *db = static_cast<T*>(p.dy);
    auto *a = static_cast<const T*>(p.x), *b = static_cast<const T*>(p.y), *dloss = static_cast<const T*>(p.dloss);
    const float scale = static_cast<float>(2.0 / static_cast<double>(p.N));
    const unsigned grid = grid_1d(op, p.N / 4 + (p.N % 4 != 0), kBlock);
    const bool vec = aligned16(a) && aligned16(b) && (!da || aligned16(da)) && (!db || aligned16(db));
    if (std::is_same_v<T, float> && vec)
      mse_backward_kernel<T, std::is_same_v<T, float>><<<grid, kBlock, 0, stream()>>>(da, db, a, b, dloss, scale, p.N);
    else
      mse_backward_kernel<T, false><<<grid, kBlock, 0, stream()>>>(da, db, a, b, dloss, scale, p.N);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace docbert::cuda
