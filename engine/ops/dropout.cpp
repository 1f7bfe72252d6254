// Dropout: the Philox mask walk, the CPU implementation over kernels/dropout.h's params, then the autograd wrapper.
#include "engine/ops/dropout.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/parallel.h"
#include "kernels/dropout.h"
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

namespace cpu {

// out (N) = keep ? inp * scale : 0
static void dropout_forward(const DropoutParams& p) {
  dispatch_float(p.dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(p.out);
    const T* x = static_cast<const T*>(p.inp);
    const T scale = dropout_scale<T>(static_cast<T>(p.p));
    for_each_mask(p.N, static_cast<float>(p.p), p.seed, p.offset,
                  [&](int64_t i, bool keep) { out[i] = keep ? x[i] * scale : T(0); });
  });
}

// dinp (N) += keep ? dout * scale : 0
static void dropout_backward(const DropoutParams& p) {
  dispatch_float(p.dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    T* dx = static_cast<T*>(p.dinp);
    const T* dout = static_cast<const T*>(p.dout);
    const T scale = dropout_scale<T>(static_cast<T>(p.p));
    for_each_mask(p.N, static_cast<float>(p.p), p.seed, p.offset, [&](int64_t i, bool keep) {
      if (keep) dx[i] += dout[i] * scale;
    });
  });
}

}  // namespace cpu

namespace {
constexpr OpImpl<DropoutParams> kDropoutFwd{cpu::dropout_forward, DOCBERT_CUDA(cuda::dropout_forward)};
constexpr OpImpl<DropoutParams> kDropoutBwd{cpu::dropout_backward, DOCBERT_CUDA(cuda::dropout_backward)};
}  // namespace

Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, bool training) {
  const char* op = "dropout";
  const OpTarget at = check_float_operands(op, {{"x", x}});
  DOCBERT_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got {}", p);
  if (!training || p == 0) return x;
  Tensor out = Tensor::empty(x.shape(), at.dtype, at.device);
  DropoutParams dp;
  dp.dtype = at.dtype;
  dp.N = x.numel();
  dp.p = p;
  dp.seed = seed;
  dp.offset = offset;
  dp.out = out.raw_data();
  dp.inp = x.raw_data();
  kDropoutFwd(op, at.device, dp);
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [dp, at, op](Node& n) mutable {
      dp.dinp = n.inputs[0].grad_buffer().raw_data();
      dp.dout = n.outputs[0].grad().raw_data();
      kDropoutBwd(op, at.device, dp);
    });
  }
  return out;
}

}  // namespace docbert
