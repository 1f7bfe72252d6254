// Masked max-pooling over time: the CPU implementation over kernels/pool.h's params (the forward saves the argmax),
// then the autograd wrapper. F is the float type, so T can be the time dim of the glossary.
#include "engine/ops/pool.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/parallel.h"
#include "kernels/pool.h"

namespace docbert {

namespace cpu {

// out (B,C) and argmax (B,C) over the first lengths[b] rows of x (B,T,C). A strict > keeps the first index on ties.
static void max_pool_forward(const MaxPoolParams& p) {
  dispatch_float(p.dtype, "masked_max_pool", [&](auto tag) {
    using F = decltype(tag);
    const F* x = static_cast<const F*>(p.x);
    F* out = static_cast<F*>(p.out);
    const int64_t T = p.T, C = p.C;
    parallel_for(
        p.B,
        [&](int64_t b) {
          const F* xb = x + b * T * C;
          F* o = out + b * C;
          int64_t* a = p.argmax + b * C;
          for (int64_t c = 0; c < C; ++c) {
            o[c] = xb[c];
            a[c] = 0;
          }
          for (int64_t t = 1; t < p.lengths[b]; ++t) {
            const F* row = xb + t * C;
            for (int64_t c = 0; c < C; ++c) {
              if (row[c] > o[c]) {
                o[c] = row[c];
                a[c] = t;
              }
            }
          }
        },
        2);
  });
}

// dx (B,T,C) += dout (B,C) routed to argmax (B,C)
static void max_pool_backward(const MaxPoolParams& p) {
  if (!p.dx) return;
  dispatch_float(p.dtype, "masked_max_pool", [&](auto tag) {
    using F = decltype(tag);
    F* dx = static_cast<F*>(p.dx);
    const F* dout = static_cast<const F*>(p.dout);
    const int64_t T = p.T, C = p.C;
    parallel_for(
        p.B,
        [&](int64_t b) {
          for (int64_t c = 0; c < C; ++c) dx[(b * T + p.argmax[b * C + c]) * C + c] += dout[b * C + c];
        },
        2);
  });
}

}  // namespace cpu

namespace {
constexpr OpImpl<MaxPoolParams> kFwd{cpu::max_pool_forward, DOCBERT_CUDA(cuda::max_pool_forward)};
constexpr OpImpl<MaxPoolParams> kBwd{cpu::max_pool_backward, DOCBERT_CUDA(cuda::max_pool_backward)};
}  // namespace

Tensor masked_max_pool(const Tensor& x, const Tensor& lengths) {
  const char* op = "masked_max_pool";
  const OpTarget at = check_float_operands(op, {{"x", x}});
  check_dim(op, "x", x, 3);
  check_dim(op, "lengths", lengths, 1);
  check_index(op, "lengths", lengths);
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  DOCBERT_CHECK(lengths.size(0) == B, "masked_max_pool: shape mismatch: 'lengths' {} must be (B) for 'x' (B,T,C) {}",
                shape_str(lengths.shape()), shape_str(x.shape()));
  const Tensor len = checked_indices(op, "lengths", lengths, 1, T + 1, at.device);
  Tensor out = Tensor::empty({B, C}, at.dtype, at.device);
  Tensor argmax = Tensor::empty({B, C}, DType::I64, at.device);
  MaxPoolParams p;
  p.dtype = at.dtype;
  p.B = B;
  p.T = T;
  p.C = C;
  p.lengths = static_cast<const int64_t*>(len.raw_data());
  p.x = x.raw_data();
  p.out = out.raw_data();
  p.argmax = static_cast<int64_t*>(argmax.raw_data());
  kFwd(op, at.device, p);
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [p, at, op, argmax](Node& n) mutable {
      p.dx = grad_ptr_or_null(n.inputs[0]);
      p.dout = n.outputs[0].grad().raw_data();
      kBwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace docbert
