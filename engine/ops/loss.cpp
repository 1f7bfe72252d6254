// Losses: the CPU implementations over kernels/loss.h's params, then the autograd wrappers (formulas in loss.h).
//
// The CPU computes in double and stores gradients in T. A forward writes one partial sum per row (per chunk for
// mse) in parallel, then adds them in index order: the only reduction across rows.
#include "engine/ops/loss.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace docbert {

namespace cpu {

// Rows per parallel chunk so a thread gets at least ~4096 elements of work.
static int64_t row_grain(int64_t K) { return std::max<int64_t>(1, 4096 / K); }

// v[0] + v[1] + ... + v[n-1], in that order.
static double ordered_sum(const double* v, int64_t n) { return std::accumulate(v, v + n, 0.0); }

// log sum_k exp(z[k] * inv_t) of one row z (K), after subtracting the row maximum.
template <class T>
static double row_logsumexp(const T* z, int64_t K, double inv_t) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < K; ++k) m = std::max(m, z[k] * inv_t);
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(z[k] * inv_t - m);
  return m + std::log(s);
}

// partial (B) = lse[b] - x[b, targets[b]];  lse_x (B) = logsumexp(x[b]);  loss = sum(partial) / B.
// x: logits (B,K); targets (B) in [0,K).
static void cross_entropy_forward(const LossParams& p) {
  dispatch_float(p.dtype, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* logits = static_cast<const T*>(p.x);
    double *losses = static_cast<double*>(p.partial), *lse = static_cast<double*>(p.lse_x);
    const int64_t K = p.K;
    parallel_for(
        p.B,
        [&](int64_t b) {
          const T* z = logits + b * K;
          lse[b] = row_logsumexp(z, K, 1.0);
          losses[b] = lse[b] - z[p.targets[b]];
        },
        row_grain(K));
    *static_cast<T*>(p.loss) = static_cast<T>(ordered_sum(losses, p.B) / p.B);
  });
}

// dx (B,K) += (softmax(x[b]) - onehot(targets[b])) * c,  c = dL / B
static void cross_entropy_backward(const LossParams& p) {
  if (!p.dx) return;
  dispatch_float(p.dtype, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    T* dlogits = static_cast<T*>(p.dx);
    const T* logits = static_cast<const T*>(p.x);
    const double* lse = static_cast<const double*>(p.lse_x);
    const double c = static_cast<double>(*static_cast<const T*>(p.dloss)) / p.B;
    const int64_t K = p.K;
    parallel_for(p.B * K, [&](int64_t i) {
      const int64_t b = i / K;
      const double onehot = i % K == p.targets[b] ? 1.0 : 0.0;
      dlogits[i] += static_cast<T>((std::exp(logits[i] - lse[b]) - onehot) * c);
    });
  });
}

// partial (B) = sum_k max(z,0) - z y + log1p(exp(-|z|)),  z = x[b,k] (logits), y = y[b,k] (targets, checked to lie
// in [0, 1]);  loss = sum(partial) / (B K). PyTorch's term order: a saturated, correctly labelled logit gives exactly
// its tiny log1p tail.
static void bce_with_logits_forward(const LossParams& p) {
  dispatch_float(p.dtype, "bce_with_logits", [&](auto tag) {
    using T = decltype(tag);
    const T *logits = static_cast<const T*>(p.x), *targets = static_cast<const T*>(p.y);
    double* losses = static_cast<double*>(p.partial);
    const int64_t K = p.K, N = p.B * K;
    for (int64_t i = 0; i < N; ++i)
      DOCBERT_CHECK(targets[i] >= 0 && targets[i] <= 1, "bce_with_logits: targets[{},{}] = {} is outside [0, 1]", i / K,
                    i % K, targets[i]);
    parallel_for(
        p.B,
        [&](int64_t b) {
          double acc = 0;
          for (int64_t i = b * K; i < (b + 1) * K; ++i) {
            const double z = logits[i], y = targets[i];
            acc += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
          }
          losses[b] = acc;
        },
        row_grain(K));
    *static_cast<T*>(p.loss) = static_cast<T>(ordered_sum(losses, p.B) / static_cast<double>(N));
  });
}

// dx (B,K) += (sigmoid(z) - y) * c,  dy (B,K) += -z * c,  c = dL / (B K)
static void bce_with_logits_backward(const LossParams& p) {
  dispatch_float(p.dtype, "bce_with_logits", [&](auto tag) {
    using T = decltype(tag);
    T *dlogits = static_cast<T*>(p.dx), *dtargets = static_cast<T*>(p.dy);
    const T *logits = static_cast<const T*>(p.x), *targets = static_cast<const T*>(p.y);
    const int64_t N = p.B * p.K;
    const double c = static_cast<double>(*static_cast<const T*>(p.dloss)) / static_cast<double>(N);
    parallel_for(N, [&](int64_t i) {
      const double z = logits[i];
      if (dlogits) dlogits[i] += static_cast<T>((stable_sigmoid(z) - targets[i]) * c);
      if (dtargets) dtargets[i] += static_cast<T>(-z * c);
    });
  });
}

// partial (B) = KL_b = sum_k p_k (log p_k - log q_k),  p = softmax(y[b] / T) (teacher), q = softmax(x[b] / T)
// (student);  lse_x, lse_y (B): the two rows' logsumexp;  loss = T^2 sum(partial) / B.
static void kl_div_softmax_forward(const LossParams& p) {
  dispatch_float(p.dtype, "kl_div_softmax", [&](auto tag) {
    using T = decltype(tag);
    const T *student = static_cast<const T*>(p.x), *teacher = static_cast<const T*>(p.y);
    double *rows = static_cast<double*>(p.partial), *lse_s = static_cast<double*>(p.lse_x),
           *lse_t = static_cast<double*>(p.lse_y);
    const double inv_t = 1 / p.temperature;
    const int64_t K = p.K;
    parallel_for(
        p.B,
        [&](int64_t b) {
          const T *s = student + b * K, *t = teacher + b * K;
          lse_s[b] = row_logsumexp(s, K, inv_t);
          lse_t[b] = row_logsumexp(t, K, inv_t);
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) {
            // log p stays finite where p underflows to 0, so such terms are exactly 0, never 0 * -inf.
            const double log_p = t[k] * inv_t - lse_t[b], log_q = s[k] * inv_t - lse_s[b];
            acc += std::exp(log_p) * (log_p - log_q);
          }
          rows[b] = acc;
        },
        row_grain(K));
    *static_cast<T*>(p.loss) = static_cast<T>(p.temperature * p.temperature * ordered_sum(rows, p.B) / p.B);
  });
}

// dx (B,K) += (q - p) * c,  dy (B,K) += p (log p - log q - KL_b) * c,  c = T dL / B; p, q, KL_b as in the forward.
static void kl_div_softmax_backward(const LossParams& p) {
  dispatch_float(p.dtype, "kl_div_softmax", [&](auto tag) {
    using T = decltype(tag);
    T *dstudent = static_cast<T*>(p.dx), *dteacher = static_cast<T*>(p.dy);
    const T *student = static_cast<const T*>(p.x), *teacher = static_cast<const T*>(p.y);
    const double *rows = static_cast<const double*>(p.partial), *lse_s = static_cast<const double*>(p.lse_x),
                 *lse_t = static_cast<const double*>(p.lse_y);
    const double inv_t = 1 / p.temperature;
    const double c = p.temperature * static_cast<double>(*static_cast<const T*>(p.dloss)) / p.B;
    const int64_t K = p.K;
    parallel_for(p.B * K, [&](int64_t i) {
      const int64_t b = i / K;
      const double log_p = teacher[i] * inv_t - lse_t[b], log_q = student[i] * inv_t - lse_s[b];
      const double pk = std::exp(log_p);
      if (dstudent) dstudent[i] += static_cast<T>((std::exp(log_q) - pk) * c);
      if (dteacher) dteacher[i] += static_cast<T>(pk * (log_p - log_q - rows[b]) * c);
    });
  });
}

// partial (B) = sum_k p log(p/q) + (1-p) log((1-p)/(1-q)),  p = sigmoid(a), q = sigmoid(c), a = y/T (teacher),
// c = x/T (student), as p (softplus(-c) - softplus(-a)) + sigmoid(-a) (softplus(c) - softplus(a)): each factor is
// exact in its own scale, so saturated labels cost no accuracy;  loss = T^2 sum(partial) / B.
static void kl_div_bernoulli_forward(const LossParams& p) {
  dispatch_float(p.dtype, "kl_div_bernoulli", [&](auto tag) {
    using T = decltype(tag);
    const T *student = static_cast<const T*>(p.x), *teacher = static_cast<const T*>(p.y);
    double* rows = static_cast<double*>(p.partial);
    const double inv_t = 1 / p.temperature;
    const int64_t K = p.K;
    parallel_for(
        p.B,
        [&](int64_t b) {
          double acc = 0;
          for (int64_t i = b * K; i < (b + 1) * K; ++i) {
            const double a = teacher[i] * inv_t, c = student[i] * inv_t;
            acc += stable_sigmoid(a) * (softplus(-c) - softplus(-a)) + stable_sigmoid(-a) * (softplus(c) - softplus(a));
          }
          rows[b] = acc;
        },
        row_grain(K));
    *static_cast<T*>(p.loss) = static_cast<T>(p.temperature * p.temperature * ordered_sum(rows, p.B) / p.B);
  });
}

// dx (B,K) += (q - p) * c,  dy (B,K) += p (1-p) (a - cs) * c,  c = T dL / B, a and cs the scaled teacher and student
// logits.
static void kl_div_bernoulli_backward(const LossParams& p) {
  dispatch_float(p.dtype, "kl_div_bernoulli", [&](auto tag) {
    using T = decltype(tag);
    T *dstudent = static_cast<T*>(p.dx), *dteacher = static_cast<T*>(p.dy);
    const T *student = static_cast<const T*>(p.x), *teacher = static_cast<const T*>(p.y);
    const double inv_t = 1 / p.temperature;
    const double c = p.temperature * static_cast<double>(*static_cast<const T*>(p.dloss)) / p.B;
    parallel_for(p.B * p.K, [&](int64_t i) {
      const double a = teacher[i] * inv_t, cs = student[i] * inv_t;
      if (dstudent) dstudent[i] += static_cast<T>((stable_sigmoid(cs) - stable_sigmoid(a)) * c);
      if (dteacher) dteacher[i] += static_cast<T>(stable_sigmoid(a) * stable_sigmoid(-a) * (a - cs) * c);
    });
  });
}

// partial (mse_chunks(N)) = sum of (a - b)^2 over each kMseChunk elements of a = x, b = y (N);  loss = sum / N.
static void mse_forward(const LossParams& p) {
  dispatch_float(p.dtype, "mse", [&](auto tag) {
    using T = decltype(tag);
    const T *a = static_cast<const T*>(p.x), *b = static_cast<const T*>(p.y);
    double* chunks = static_cast<double*>(p.partial);
    const int64_t N = p.N;
    parallel_for(
        mse_chunks(N),
        [&](int64_t ch) {
          double acc = 0;
          for (int64_t i = ch * kMseChunk; i < std::min(N, (ch + 1) * kMseChunk); ++i) {
            const double d = static_cast<double>(a[i]) - b[i];
            acc += d * d;
          }
          chunks[ch] = acc;
        },
        2);
    *static_cast<T*>(p.loss) = static_cast<T>(ordered_sum(chunks, mse_chunks(N)) / static_cast<double>(N));
  });
}

// dx (N) += 2 (a - b) c,  dy (N) -= 2 (a - b) c,  c = dL / N
static void mse_backward(const LossParams& p) {
  dispatch_float(p.dtype, "mse", [&](auto tag) {
    using T = decltype(tag);
    T *da = static_cast<T*>(p.dx), *db = static_cast<T*>(p.dy);
    const T *a = static_cast<const T*>(p.x), *b = static_cast<const T*>(p.y);
    const double c = static_cast<double>(*static_cast<const T*>(p.dloss)) / static_cast<double>(p.N);
    parallel_for(p.N, [&](int64_t i) {
      const double g = 2 * (static_cast<double>(a[i]) - b[i]) * c;
      if (da) da[i] += static_cast<T>(g);
      if (db) db[i] -= static_cast<T>(g);
    });
  });
}

}  // namespace cpu

namespace {

constexpr OpImpl<LossParams> kCrossEntropyFwd{cpu::cross_entropy_forward, DOCBERT_CUDA(cuda::cross_entropy_forward)};
constexpr OpImpl<LossParams> kCrossEntropyBwd{cpu::cross_entropy_backward, DOCBERT_CUDA(cuda::cross_entropy_backward)};
constexpr OpImpl<LossParams> kBceFwd{cpu::bce_with_logits_forward, DOCBERT_CUDA(cuda::bce_with_logits_forward)};
constexpr OpImpl<LossParams> kBceBwd{cpu::bce_with_logits_backward, DOCBERT_CUDA(cuda::bce_with_logits_backward)};
constexpr OpImpl<LossParams> kKlSoftmaxFwd{cpu::kl_div_softmax_forward, DOCBERT_CUDA(cuda::kl_div_softmax_forward)};
constexpr OpImpl<LossParams> kKlSoftmaxBwd{cpu::kl_div_softmax_backward, DOCBERT_CUDA(cuda::kl_div_softmax_backward)};
constexpr OpImpl<LossParams> kKlBernoulliFwd{cpu::kl_div_bernoulli_forward,
                                             DOCBERT_CUDA(cuda::kl_div_bernoulli_forward)};
constexpr OpImpl<LossParams> kKlBernoulliBwd{cpu::kl_div_bernoulli_backward,
                                             DOCBERT_CUDA(cuda::kl_div_bernoulli_backward)};
constexpr OpImpl<LossParams> kMseFwd{cpu::mse_forward, DOCBERT_CUDA(cuda::mse_forward)};
constexpr OpImpl<LossParams> kMseBwd{cpu::mse_backward, DOCBERT_CUDA(cuda::mse_backward)};

// A work buffer of n partial sums or logsumexps on `device`, in the accumulation type of kernels/loss.h.
Tensor work_buffer(int64_t n, Device device) {
  return Tensor::empty({n}, device == Device::CPU ? DType::F64 : DType::F32, device);
}

// Two float operands of one dtype, device and shape, non-empty; (B,K) when `matrix`.
OpTarget check_pair(const char* op, const char* an, const Tensor& a, const char* bn, const Tensor& b, bool matrix) {
  const OpTarget at = check_float_operands(op, {{an, a}, {bn, b}});
  check_same_shape(op, an, a, bn, b);
  if (matrix) check_dim(op, an, a, 2);
  DOCBERT_CHECK(a.numel() > 0, "{}: '{}' {} is empty", op, an, shape_str(a.shape()));
  return at;
}

void check_temperature(const char* op, double temperature) {
  DOCBERT_CHECK(std::isfinite(temperature) && temperature > 0, "{}: temperature must be positive and finite, got {}",
                op, temperature);
}

// Runs a loss's forward over p (sizes, operands and work buffers filled in) into a new scalar and records its node,
// whose backward points p at the gradients of `inputs` (x, then y) and at dL. `work`, the tensors behind p's work
// buffers and ids, lives as long as the node, so no pointer in p dangles (they are B or P values, not worth freeing
// early where the backward reads none).
Tensor run_loss(const char* op, const OpTarget& at, OpImpl<LossParams> fwd, OpImpl<LossParams> bwd, LossParams p,
                const std::vector<Tensor>& inputs, std::vector<Tensor> work) {
  Tensor out = Tensor::empty({}, at.dtype, at.device);
  p.dtype = at.dtype;
  p.loss = out.raw_data();
  fwd(op, at.device, p);
  if (grad_needed(inputs)) {
    record_node(op, inputs, {out}, [op, at, bwd, p, work = std::move(work)](Node& n) mutable {
      p.dx = grad_ptr_or_null(n.inputs[0]);
      if (n.inputs.size() > 1) p.dy = grad_ptr_or_null(n.inputs[1]);
      p.dloss = n.outputs[0].grad().raw_data();
      bwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// autograd wrappers

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  const char* op = "cross_entropy";
  const OpTarget at = check_float_operands(op, {{"logits", logits}});
  check_dim(op, "logits", logits, 2);
  check_index(op, "targets", targets);
  const int64_t B = logits.size(0), K = logits.size(1);
  DOCBERT_CHECK(targets.shape() == Shape{B},
                "{}: shape mismatch: 'targets' is {} but 'logits' is {}; targets must be ({})", op,
                shape_str(targets.shape()), shape_str(logits.shape()), B);
  DOCBERT_CHECK(B > 0 && K > 0, "{}: 'logits' {} is empty", op, shape_str(logits.shape()));
  const Tensor ids = checked_indices(op, "targets", targets, 0, K, at.device);
  Tensor losses = work_buffer(B, at.device), lse = work_buffer(B, at.device);
  LossParams p;
  p.B = B;
  p.K = K;
  p.x = logits.raw_data();
  p.targets = static_cast<const int64_t*>(ids.raw_data());
  p.partial = losses.raw_data();
  p.lse_x = lse.raw_data();
  // The node holds the targets (ids) with the work buffers, so its only input is the logits.
  return run_loss(op, at, kCrossEntropyFwd, kCrossEntropyBwd, p, {logits}, {ids, losses, lse});
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& targets) {
  const char* op = "bce_with_logits";
  const OpTarget at = check_pair(op, "logits", logits, "targets", targets, true);
  LossParams p;
  p.B = logits.size(0);
  p.K = logits.size(1);
  p.x = logits.raw_data();
  p.y = targets.raw_data();
  Tensor losses = work_buffer(p.B, at.device);
  p.partial = losses.raw_data();
  return run_loss(op, at, kBceFwd, kBceBwd, p, {logits, targets}, {losses});
}

Tensor kl_div_softmax(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  const char* op = "kl_div_softmax";
  const OpTarget at = check_pair(op, "student_logits", student_logits, "teacher_logits", teacher_logits, true);
  check_temperature(op, temperature);
  LossParams p;
  p.B = student_logits.size(0);
  p.K = student_logits.size(1);
  p.temperature = temperature;
  p.x = student_logits.raw_data();
  p.y = teacher_logits.raw_data();
  Tensor rows = work_buffer(p.B, at.device), lse_s = work_buffer(p.B, at.device), lse_t = work_buffer(p.B, at.device);
  p.partial = rows.raw_data();
  p.lse_x = lse_s.raw_data();
  p.lse_y = lse_t.raw_data();
  return run_loss(op, at, kKlSoftmaxFwd, kKlSoftmaxBwd, p, {student_logits, teacher_logits}, {rows, lse_s, lse_t});
}

Tensor kl_div_bernoulli(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  const char* op = "kl_div_bernoulli";
  const OpTarget at = check_pair(op, "student_logits", student_logits, "teacher_logits", teacher_logits, true);
  check_temperature(op, temperature);
  LossParams p;
  p.B = student_logits.size(0);
  p.K = student_logits.size(1);
  p.temperature = temperature;
  p.x = student_logits.raw_data();
  p.y = teacher_logits.raw_data();
  Tensor rows = work_buffer(p.B, at.device);
  p.partial = rows.raw_data();
  return run_loss(op, at, kKlBernoulliFwd, kKlBernoulliBwd, p, {student_logits, teacher_logits}, {rows});
}

Tensor mse(const Tensor& a, const Tensor& b) {
  const char* op = "mse";
  const OpTarget at = check_pair(op, "a", a, "b", b, false);
  LossParams p;
  p.N = a.numel();
  p.x = a.raw_data();
  p.y = b.raw_data();
  Tensor chunks = work_buffer(mse_chunks(p.N), at.device);
  p.partial = chunks.raw_data();
  return run_loss(op, at, kMseFwd, kMseBwd, p, {a, b}, {chunks});
}

}  // namespace docbert
