// Losses: forward/backward kernels over raw pointers, then the autograd wrappers (formulas in loss.h).
//
// Kernels compute in double and store gradients in T. Forward kernels write one partial sum per row (per
// chunk for mse) in parallel; the wrapper adds them in order, the only reduction across rows.
#include "engine/ops/loss.h"

#include "engine/autograd.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace docbert {

namespace {

// Rows per parallel chunk so a thread gets at least ~4096 elements of work.
int64_t row_grain(int64_t K) { return std::max<int64_t>(1, 4096 / K); }

double ordered_sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// log sum_k exp(z[k] * inv_t) of one row z (K), after subtracting the row maximum.
template <class T>
double row_logsumexp(const T* z, int64_t K, double inv_t) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < K; ++k) m = std::max(m, z[k] * inv_t);
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(z[k] * inv_t - m);
  return m + std::log(s);
}

// ---------------------------------------------------------------------------------------------------
// kernels

// losses (B) = lse[b] - logits[b, targets[b]];  lse (B) = logsumexp(logits[b]), kept for the backward.
// logits (B,K), targets (B) already checked to lie in [0,K).
template <class T>
void cross_entropy_forward(double* losses, double* lse, const T* logits, const int64_t* targets, int64_t B, int64_t K) {
  parallel_for(
      B,
      [&](int64_t b) {
        const T* z = logits + b * K;
        lse[b] = row_logsumexp(z, K, 1.0);
        losses[b] = lse[b] - z[targets[b]];
      },
      row_grain(K));
}

// dlogits (B,K) += (softmax(logits[b]) - onehot(targets[b])) * c,  c = dL / B
template <class T>
void cross_entropy_backward(T* dlogits, const T* logits, const double* lse, const int64_t* targets, double c, int64_t B,
                            int64_t K) {
  parallel_for(B * K, [&](int64_t i) {
    const int64_t b = i / K;
    const double onehot = i % K == targets[b] ? 1.0 : 0.0;
    dlogits[i] += static_cast<T>((std::exp(logits[i] - lse[b]) - onehot) * c);
  });
}

// losses (B) = sum_k max(z,0) - z y + log1p(exp(-|z|)),  z = logits[b,k], y = targets[b,k]; both (B,K).
// PyTorch's term order: a saturated, correctly labelled logit gives exactly its tiny log1p tail.
template <class T>
void bce_with_logits_forward(double* losses, const T* logits, const T* targets, int64_t B, int64_t K) {
  parallel_for(
      B,
      [&](int64_t b) {
        double acc = 0;
        for (int64_t i = b * K; i < (b + 1) * K; ++i) {
          const double z = logits[i], y = targets[i];
          acc += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
        }
        losses[b] = acc;
      },
      row_grain(K));
}

// dlogits (N) += (sigmoid(z) - y) * c,  dtargets (N) += -z * c,  c = dL / N; either output may be null.
template <class T>
void bce_with_logits_backward(T* dlogits, T* dtargets, const T* logits, const T* targets, double c, int64_t N) {
  parallel_for(N, [&](int64_t i) {
    const double z = logits[i];
    if (dlogits) dlogits[i] += static_cast<T>((stable_sigmoid(z) - targets[i]) * c);
    if (dtargets) dtargets[i] += static_cast<T>(-z * c);
  });
}

// rows (B) = sum_k p_k (log p_k - log q_k),  p = softmax(teacher[b] inv_t), q = softmax(student[b] inv_t);
// lse_s, lse_t (B): the two rows' logsumexp, kept for the backward. student, teacher (B,K).
template <class T>
void kl_div_softmax_forward(double* rows, double* lse_s, double* lse_t, const T* student, const T* teacher,
                            double inv_t, int64_t B, int64_t K) {
  parallel_for(
      B,
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
}

// dstudent (B,K) += (q - p) * c,  dteacher (B,K) += p (log p - log q - rows[b]) * c,  c = T dL / B;
// either output may be null. p, q, rows, lse_s, lse_t as in the forward.
template <class T>
void kl_div_softmax_backward(T* dstudent, T* dteacher, const T* student, const T* teacher, const double* rows,
                             const double* lse_s, const double* lse_t, double inv_t, double c, int64_t B, int64_t K) {
  parallel_for(B * K, [&](int64_t i) {
    const int64_t b = i / K;
    const double log_p = teacher[i] * inv_t - lse_t[b], log_q = student[i] * inv_t - lse_s[b];
    const double p = std::exp(log_p);
    if (dstudent) dstudent[i] += static_cast<T>((std::exp(log_q) - p) * c);
    if (dteacher) dteacher[i] += static_cast<T>(p * (log_p - log_q - rows[b]) * c);
  });
}

// rows (B) = sum_k p log(p/q) + (1-p) log((1-p)/(1-q)),  p = sigmoid(teacher inv_t), q = sigmoid(student inv_t),
// as p (softplus(-c) - softplus(-a)) + sigmoid(-a) (softplus(c) - softplus(a)) with a = teacher inv_t,
// c = student inv_t: each factor is exact in its own scale, so saturated labels cost no accuracy.
template <class T>
void kl_div_bernoulli_forward(double* rows, const T* student, const T* teacher, double inv_t, int64_t B, int64_t K) {
  parallel_for(
      B,
      [&](int64_t b) {
        double acc = 0;
        for (int64_t i = b * K; i < (b + 1) * K; ++i) {
          const double a = teacher[i] * inv_t, c = student[i] * inv_t;
          acc += stable_sigmoid(a) * (softplus(-c) - softplus(-a)) + stable_sigmoid(-a) * (softplus(c) - softplus(a));
        }
        rows[b] = acc;
      },
      row_grain(K));
}

// dstudent (N) += (q - p) * c,  dteacher (N) += p (1-p) (a - c_s) * c,  c = T dL / B, a and c_s the scaled
// teacher and student logits; either output may be null.
template <class T>
void kl_div_bernoulli_backward(T* dstudent, T* dteacher, const T* student, const T* teacher, double inv_t, double c,
                               int64_t N) {
  parallel_for(N, [&](int64_t i) {
    const double a = teacher[i] * inv_t, cs = student[i] * inv_t;
    if (dstudent) dstudent[i] += static_cast<T>((stable_sigmoid(cs) - stable_sigmoid(a)) * c);
    if (dteacher) dteacher[i] += static_cast<T>(stable_sigmoid(a) * stable_sigmoid(-a) * (a - cs) * c);
  });
}

// Fixed chunk size of the mse partial sums: the summation order depends on N only, never on the thread count.
constexpr int64_t kMseChunk = 4096;

// chunks (ceil(N / kMseChunk)) = sum of (a - b)^2 over each chunk of a, b (N).
template <class T>
void mse_forward(double* chunks, const T* a, const T* b, int64_t N) {
  parallel_for((N + kMseChunk - 1) / kMseChunk,
               [&](int64_t ch) {
                 double acc = 0;
                 for (int64_t i = ch * kMseChunk; i < std::min(N, (ch + 1) * kMseChunk); ++i) {
                   const double d = static_cast<double>(a[i]) - b[i];
                   acc += d * d;
                 }
                 chunks[ch] = acc;
               },
               2);
}

// da (N) += 2 (a - b) c,  db (N) -= 2 (a - b) c,  c = dL / N; either output may be null.
template <class T>
void mse_backward(T* da, T* db, const T* a, const T* b, double c, int64_t N) {
  parallel_for(N, [&](int64_t i) {
    const double g = 2 * (static_cast<double>(a[i]) - b[i]) * c;
    if (da) da[i] += static_cast<T>(g);
    if (db) db[i] -= static_cast<T>(g);
  });
}

// ---------------------------------------------------------------------------------------------------
// argument checks shared by the wrappers

// Two float operands of one dtype, device and shape, on the CPU, non-empty; (B,K) when `matrix`.
void check_pair(const char* op, const char* an, const Tensor& a, const char* bn, const Tensor& b, bool matrix) {
  check_float_operands(op, {{an, a}, {bn, b}});
  check_same_shape(op, an, a, bn, b);
  if (matrix) check_dim(op, an, a, 2);
  DOCBERT_CHECK(a.numel() > 0, "{}: '{}' {} is empty", op, an, shape_str(a.shape()));
}

double inverse_temperature(const char* op, double temperature) {
  DOCBERT_CHECK(std::isfinite(temperature) && temperature > 0, "{}: temperature must be positive and finite, got {}",
                op, temperature);
  return 1 / temperature;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// autograd wrappers

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  const char* op = "cross_entropy";
  check_float(op, "logits", logits);
  check_cpu(op, logits);
  check_dim(op, "logits", logits, 2);
  check_index(op, "targets", targets);
  const int64_t B = logits.size(0), K = logits.size(1);
  DOCBERT_CHECK(targets.shape() == Shape{B},
                "{}: shape mismatch: 'targets' is {} but 'logits' is {}; targets must be ({})", op,
                shape_str(targets.shape()), shape_str(logits.shape()), B);
  DOCBERT_CHECK(B > 0 && K > 0, "{}: 'logits' {} is empty", op, shape_str(logits.shape()));
  std::vector<int64_t> y = read_indices(op, "targets", targets, 0, K);
  std::vector<double> losses(static_cast<size_t>(B)), lse(static_cast<size_t>(B));
  Tensor out = dispatch_float(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_forward(losses.data(), lse.data(), logits.data<T>(), y.data(), B, K);
    return Tensor::scalar(ordered_sum(losses) / B, logits.dtype());
  });
  if (grad_needed({&logits})) {
    // The closure holds the targets (y), so the node's only input is the logits.
    record_node(op, {logits}, {out}, [B, K, y = std::move(y), lse = std::move(lse)](Node& n) {
      Tensor& z = n.inputs[0];
      const double c = n.outputs[0].grad().item() / B;
      dispatch_float(z.dtype(), "cross_entropy", [&](auto tag) {
        using T = decltype(tag);
        cross_entropy_backward(z.grad_buffer().template data<T>(), z.data<T>(), lse.data(), y.data(), c, B, K);
      });
    });
  }
  return out;
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& targets) {
  const char* op = "bce_with_logits";
  check_pair(op, "logits", logits, "targets", targets, true);
  const int64_t B = logits.size(0), K = logits.size(1);
  std::vector<double> losses(static_cast<size_t>(B));
  Tensor out = dispatch_float(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* y = targets.data<T>();
    for (int64_t i = 0; i < B * K; ++i)
      DOCBERT_CHECK(y[i] >= 0 && y[i] <= 1, "{}: targets[{},{}] = {} is outside [0, 1]", op, i / K, i % K, y[i]);
    bce_with_logits_forward(losses.data(), logits.data<T>(), targets.data<T>(), B, K);
    return Tensor::scalar(ordered_sum(losses) / static_cast<double>(B * K), logits.dtype());
  });
  if (grad_needed({&logits, &targets})) {
    record_node(op, {logits, targets}, {out}, [N = B * K](Node& n) {
      const double c = n.outputs[0].grad().item() / static_cast<double>(N);
      dispatch_float(n.inputs[0].dtype(), "bce_with_logits", [&](auto tag) {
        using T = decltype(tag);
        bce_with_logits_backward(grad_data_or_null<T>(n.inputs[0]), grad_data_or_null<T>(n.inputs[1]),
                                 n.inputs[0].data<T>(), n.inputs[1].data<T>(), c, N);
      });
    });
  }
  return out;
}

Tensor kl_div_softmax(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  const char* op = "kl_div_softmax";
  check_pair(op, "student_logits", student_logits, "teacher_logits", teacher_logits, true);
  const double inv_t = inverse_temperature(op, temperature);
  const int64_t B = student_logits.size(0), K = student_logits.size(1);
  std::vector<double> rows(static_cast<size_t>(B)), lse_s(static_cast<size_t>(B)), lse_t(static_cast<size_t>(B));
  Tensor out = dispatch_float(student_logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kl_div_softmax_forward(rows.data(), lse_s.data(), lse_t.data(), student_logits.data<T>(), teacher_logits.data<T>(),
                           inv_t, B, K);
    return Tensor::scalar(temperature * temperature * ordered_sum(rows) / B, student_logits.dtype());
  });
  if (grad_needed({&student_logits, &teacher_logits})) {
    record_node(op, {student_logits, teacher_logits}, {out},
                [B, K, temperature, inv_t, rows = std::move(rows), lse_s = std::move(lse_s),
                 lse_t = std::move(lse_t)](Node& n) {
                  const double c = temperature * n.outputs[0].grad().item() / B;
                  dispatch_float(n.inputs[0].dtype(), "kl_div_softmax", [&](auto tag) {
                    using T = decltype(tag);
                    kl_div_softmax_backward(grad_data_or_null<T>(n.inputs[0]), grad_data_or_null<T>(n.inputs[1]),
                                            n.inputs[0].data<T>(), n.inputs[1].data<T>(), rows.data(), lse_s.data(),
                                            lse_t.data(), inv_t, c, B, K);
                  });
                });
  }
  return out;
}

Tensor kl_div_bernoulli(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  const char* op = "kl_div_bernoulli";
  check_pair(op, "student_logits", student_logits, "teacher_logits", teacher_logits, true);
  const double inv_t = inverse_temperature(op, temperature);
  const int64_t B = student_logits.size(0), K = student_logits.size(1);
  std::vector<double> rows(static_cast<size_t>(B));
  Tensor out = dispatch_float(student_logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kl_div_bernoulli_forward(rows.data(), student_logits.data<T>(), teacher_logits.data<T>(), inv_t, B, K);
    return Tensor::scalar(temperature * temperature * ordered_sum(rows) / B, student_logits.dtype());
  });
  if (grad_needed({&student_logits, &teacher_logits})) {
    record_node(op, {student_logits, teacher_logits}, {out}, [B, K, temperature, inv_t](Node& n) {
      const double c = temperature * n.outputs[0].grad().item() / B;
      dispatch_float(n.inputs[0].dtype(), "kl_div_bernoulli", [&](auto tag) {
        using T = decltype(tag);
        kl_div_bernoulli_backward(grad_data_or_null<T>(n.inputs[0]), grad_data_or_null<T>(n.inputs[1]),
                                  n.inputs[0].data<T>(), n.inputs[1].data<T>(), inv_t, c, B * K);
      });
    });
  }
  return out;
}

Tensor mse(const Tensor& a, const Tensor& b) {
  const char* op = "mse";
  check_pair(op, "a", a, "b", b, false);
  const int64_t N = a.numel();
  std::vector<double> chunks(static_cast<size_t>((N + kMseChunk - 1) / kMseChunk));
  Tensor out = dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    mse_forward(chunks.data(), a.data<T>(), b.data<T>(), N);
    return Tensor::scalar(ordered_sum(chunks) / static_cast<double>(N), a.dtype());
  });
  if (grad_needed({&a, &b})) {
    record_node(op, {a, b}, {out}, [N](Node& n) {
      const double c = n.outputs[0].grad().item() / static_cast<double>(N);
      dispatch_float(n.inputs[0].dtype(), "mse", [&](auto tag) {
        using T = decltype(tag);
        mse_backward(grad_data_or_null<T>(n.inputs[0]), grad_data_or_null<T>(n.inputs[1]), n.inputs[0].data<T>(),
                     n.inputs[1].data<T>(), c, N);
      });
    });
  }
  return out;
}

}  // namespace docbert
