// Dropout: the Philox mask walk, forward/backward kernels over N elements, then the autograd wrapper.
#include "engine/ops/dropout.h"

#include "engine/autograd.h"
#include "engine/parallel.h"
#include "kernels/philox.h"

namespace docbert {

// Calls f(i, keep) for every i in [0, N) under the mask convention of dropout.h: one task per Philox group of four
// elements (dropout_mask4). A test checks the mask against philox_uniform element by element.
template <class F>
static void for_each_mask(int64_t N, float p, uint64_t seed, uint64_t offset, F&& f) {
  parallel_for(
      static_cast<int64_t>(philox_advance(static_cast<uint64_t>(N))),
      [&](int64_t g) {
        dropout_mask4(seed, offset, static_cast<uint64_t>(g), p, [&](int lane, bool keep) {
          if (4 * g + lane < N) f(4 * g + lane, keep);
        });
      },
      1024);
}

// out (N) = keep ? x * scale : 0
template <class T>
static void dropout_forward(T* out, const T* x, int64_t N, float p, T scale, uint64_t seed, uint64_t offset) {
  for_each_mask(N, p, seed, offset, [&](int64_t i, bool keep) { out[i] = keep ? x[i] * scale : T(0); });
}

// dx (N) += keep ? dout * scale : 0
template <class T>
static void dropout_backward(T* dx, const T* dout, int64_t N, float p, T scale, uint64_t seed, uint64_t offset) {
  for_each_mask(N, p, seed, offset, [&](int64_t i, bool keep) {
    if (keep) dx[i] += dout[i] * scale;
  });
}

Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, bool training) {
  const char* op = "dropout";
  check_float(op, "x", x);
  check_cpu(op, x);
  DOCBERT_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got {}", p);
  if (!training || p == 0) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    dropout_forward(out.data<T>(), x.data<T>(), x.numel(), static_cast<float>(p), dropout_scale<T>(static_cast<T>(p)),
                    seed, offset);
  });
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [p, seed, offset](Node& n) {
      const Tensor& y = n.outputs[0];
      dispatch_float(y.dtype(), "dropout", [&](auto tag) {
        using T = decltype(tag);
        dropout_backward(n.inputs[0].grad_buffer().template data<T>(), y.grad().data<T>(), y.numel(),
                         static_cast<float>(p), dropout_scale<T>(static_cast<T>(p)), seed, offset);
      });
    });
  }
  return out;
}

}  // namespace docbert
