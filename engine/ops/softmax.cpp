// Softmax and log-softmax over the last dim: the CPU implementation over kernels/softmax.h's params, then the
// wrappers.
#include "engine/ops/softmax.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>

namespace docbert {

namespace cpu {

// out (N,K) = softmax or log_softmax of each row of x (N,K)
static void softmax_forward(const SoftmaxParams& p) {
  dispatch_float(p.dtype, p.log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(p.out);
    const T* x = static_cast<const T*>(p.x);
    const int64_t K = p.K;
    if (!p.log) {
      parallel_for(
          p.N, [&](int64_t r) { softmax_row(out + r * K, x + r * K, K); }, 16);
      return;
    }
    parallel_for(
        p.N,
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
  });
}

// softmax: dx (N,K) += out * (dout - <dout, out>); log_softmax: dx += dout - exp(out) * sum(dout); per row
static void softmax_backward(const SoftmaxParams& p) {
  if (!p.dx) return;
  dispatch_float(p.dtype, p.log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = decltype(tag);
    T* dx = static_cast<T*>(p.dx);
    const T *out = static_cast<const T*>(p.out), *dout = static_cast<const T*>(p.dout);
    const int64_t K = p.K;
    if (!p.log) {
      parallel_for(
          p.N, [&](int64_t r) { softmax_row_backward(dx + r * K, out + r * K, dout + r * K, K, true); }, 16);
      return;
    }
    parallel_for(
        p.N,
        [&](int64_t r) {
          const T *o = out + r * K, *d = dout + r * K;
          T sum = 0;
          for (int64_t k = 0; k < K; ++k) sum += d[k];
          for (int64_t k = 0; k < K; ++k) dx[r * K + k] += d[k] - std::exp(o[k]) * sum;
        },
        16);
  });
}

}  // namespace cpu

namespace {

constexpr OpImpl<SoftmaxParams> kFwd{cpu::softmax_forward, DOCBERT_CUDA(cuda::softmax_forward)};
constexpr OpImpl<SoftmaxParams> kBwd{cpu::softmax_backward, DOCBERT_CUDA(cuda::softmax_backward)};

// Both ops: check, run the forward over (N,K), record a backward that needs only the output and its gradient.
Tensor row_op(const char* op, const Tensor& x, bool log) {
  const OpTarget at = check_float_operands(op, {{"x", x}});
  DOCBERT_CHECK(x.dim() >= 1 && x.size(-1) >= 1, "{}: 'x' {} needs a non-empty last dim", op, x.describe());
  Tensor out = Tensor::empty(x.shape(), at.dtype, at.device);
  SoftmaxParams p;
  p.log = log;
  p.dtype = at.dtype;
  p.K = x.size(-1);
  p.N = x.numel() / p.K;
  p.out = out.raw_data();
  p.x = x.raw_data();
  kFwd(op, at.device, p);
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [p, at, op](Node& n) mutable {
      p.dx = grad_ptr_or_null(n.inputs[0]);
      p.dout = n.outputs[0].grad().raw_data();
      kBwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x) { return row_op("softmax", x, false); }
Tensor log_softmax(const Tensor& x) { return row_op("log_softmax", x, true); }

}  // namespace docbert
