// Softmax and log-softmax over the last dim: kernels over R rows of K, then the shared autograd plumbing.
#include "engine/ops/softmax.h"

#include "engine/autograd.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"

#include <algorithm>
#include <cmath>

namespace docbert {

// out (R,K) = softmax of each row of x (R,K)
template <class T>
static void softmax_forward(T* out, const T* x, int64_t R, int64_t K) {
  parallel_for(
      R, [&](int64_t r) { softmax_row(out + r * K, x + r * K, K); }, 16);
}

// dx (R,K) += out * (dout - <dout, out>) per row
template <class T>
static void softmax_backward(T* dx, const T* out, const T* dout, int64_t R, int64_t K) {
  parallel_for(
      R, [&](int64_t r) { softmax_row_backward(dx + r * K, out + r * K, dout + r * K, K, true); }, 16);
}

// out (R,K) = log_softmax of each row of x (R,K)
template <class T>
static void log_softmax_forward(T* out, const T* x, int64_t R, int64_t K) {
  parallel_for(
      R,
      [&](int64_t r) {
        const T* xr = x + r * K;
        const T m = *std::max_element(xr, xr + K);
        T sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += std::exp(xr[k] - m);
        // (x - max) - log(sum) rather than x - (max + log(sum)): the first difference is exact for the top entries.
        const T log_sum = std::log(sum);
        for (int64_t k = 0; k < K; ++k) out[r * K + k] = (xr[k] - m) - log_sum;
      },
      16);
}

// dx (R,K) += dout - exp(out) * sum(dout) per row
template <class T>
static void log_softmax_backward(T* dx, const T* out, const T* dout, int64_t R, int64_t K) {
  parallel_for(
      R,
      [&](int64_t r) {
        const T *o = out + r * K, *d = dout + r * K;
        T sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += d[k];
        for (int64_t k = 0; k < K; ++k) dx[r * K + k] += d[k] - std::exp(o[k]) * sum;
      },
      16);
}

// Both ops: check, run fwd over (R,K), record a backward that needs only the output and its gradient.
template <class Fwd, class Bwd>
static Tensor row_op(const char* op, const Tensor& x, Fwd fwd, Bwd bwd) {
  check_float(op, "x", x);
  check_cpu(op, x);
  DOCBERT_CHECK(x.dim() >= 1 && x.size(-1) >= 1, "{}: 'x' {} needs a non-empty last dim", op, x.describe());
  const int64_t K = x.size(-1), R = x.numel() / K;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    fwd(out.data<T>(), x.data<T>(), R, K);
  });
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [op, bwd, R, K](Node& n) {
      const Tensor& y = n.outputs[0];
      dispatch_float(y.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        bwd(n.inputs[0].grad_buffer().template data<T>(), y.data<T>(), y.grad().data<T>(), R, K);
      });
    });
  }
  return out;
}

Tensor softmax(const Tensor& x) {
  return row_op(
      "softmax", x, [](auto* o, const auto* i, int64_t R, int64_t K) { softmax_forward(o, i, R, K); },
      [](auto* dx, const auto* o, const auto* d, int64_t R, int64_t K) { softmax_backward(dx, o, d, R, K); });
}

Tensor log_softmax(const Tensor& x) {
  return row_op(
      "log_softmax", x, [](auto* o, const auto* i, int64_t R, int64_t K) { log_softmax_forward(o, i, R, K); },
      [](auto* dx, const auto* o, const auto* d, int64_t R, int64_t K) { log_softmax_backward(dx, o, d, R, K); });
}

}  // namespace docbert
