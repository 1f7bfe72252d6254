// Masked max-pooling over time: forward (saves the argmax) and backward kernels, then the autograd wrapper.
// F is the float type, so T can be the time dim of the glossary.
#include "engine/ops/pool.h"

#include "engine/autograd.h"
#include "engine/parallel.h"

#include <vector>

namespace docbert {

// out (B,C) and argmax (B,C) over the first len[b] rows of x (B,T,C). A strict > keeps the first index on ties.
template <class F>
static void max_pool_forward(F* out, int64_t* argmax, const F* x, const std::vector<int64_t>& len, int64_t B, int64_t T,
                             int64_t C) {
  parallel_for(
      B,
      [&](int64_t b) {
        const F* xb = x + b * T * C;
        F* o = out + b * C;
        int64_t* a = argmax + b * C;
        for (int64_t c = 0; c < C; ++c) {
          o[c] = xb[c];
          a[c] = 0;
        }
        for (int64_t t = 1; t < len[b]; ++t) {
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
}

// dx (B,T,C) += dout (B,C) routed to argmax (B,C)
template <class F>
static void max_pool_backward(F* dx, const F* dout, const int64_t* argmax, int64_t B, int64_t T, int64_t C) {
  parallel_for(
      B,
      [&](int64_t b) {
        for (int64_t c = 0; c < C; ++c) dx[(b * T + argmax[b * C + c]) * C + c] += dout[b * C + c];
      },
      2);
}

Tensor masked_max_pool(const Tensor& x, const Tensor& lengths) {
  const char* op = "masked_max_pool";
  check_float(op, "x", x);
  check_dim(op, "x", x, 3);
  check_dim(op, "lengths", lengths, 1);
  check_index(op, "lengths", lengths);
  check_cpu(op, x);
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  DOCBERT_CHECK(lengths.size(0) == B, "masked_max_pool: shape mismatch: 'lengths' {} must be (B) for 'x' (B,T,C) {}",
                shape_str(lengths.shape()), shape_str(x.shape()));
  const std::vector<int64_t> len = read_indices(op, "lengths", lengths, 1, T + 1);
  Tensor out = Tensor::empty({B, C}, x.dtype());
  Tensor argmax = Tensor::empty({B, C}, DType::I64);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using F = decltype(tag);
    max_pool_forward(out.data<F>(), argmax.data<int64_t>(), x.data<F>(), len, B, T, C);
  });
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [argmax, B, T, C](Node& n) {
      dispatch_float(n.outputs[0].dtype(), "masked_max_pool", [&](auto tag) {
        using F = decltype(tag);
        max_pool_backward(n.inputs[0].grad_buffer().template data<F>(), n.outputs[0].grad().data<F>(),
                          argmax.data<int64_t>(), B, T, C);
      });
    });
  }
  return out;
}

}  // namespace docbert
