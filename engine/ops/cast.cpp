// The differentiable cast: the CPU implementation over kernels/tensor_ops.h's CastParams, then the wrapper.
#include "engine/ops/cast.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/parallel.h"
#include "kernels/tensor_ops.h"

namespace docbert {

namespace cpu {

// out (N) = convert(inp (N))
static void cast_forward(const CastParams& p) {
  parallel_for(p.N, [&](int64_t i) { store_element(p.out, p.to, i, load_element(p.inp, p.from, i)); });
}

// dinp (N) += convert back(dout (N)): the converted value is rounded to `from` first, then added in `from`, as the
// CUDA path does (cast into scratch, then accumulate).
static void cast_backward(const CastParams& p) {
  if (!p.dinp) return;
  parallel_for(p.N, [&](int64_t i) {
    const double g = load_element(p.dout, p.to, i);
    if (p.from == DType::F32)
      static_cast<float*>(p.dinp)[i] += static_cast<float>(g);
    else if (p.from == DType::F64)
      static_cast<double*>(p.dinp)[i] += g;
    else
      store_element(p.dinp, p.from, i,
                    static_cast<double>(static_cast<bf16*>(p.dinp)[i].to_float() + bf16::from_double(g).to_float()));
  });
}

}  // namespace cpu

namespace {
constexpr OpImpl<CastParams> kCastFwd{cpu::cast_forward, DOCBERT_CUDA(cuda::cast_forward)};
constexpr OpImpl<CastParams> kCastBwd{cpu::cast_backward, DOCBERT_CUDA(cuda::cast_backward)};
}  // namespace

Tensor cast(const Tensor& x, DType dtype) {
  const char* op = "cast";
  const OpTarget at = check_float_operands(op, {{"x", x}});
  DOCBERT_CHECK(dtype_is_float(dtype), "cast: the target dtype must be a float type, got {}", dtype_name(dtype));
  if (dtype == at.dtype) return x;
  Tensor out = Tensor::empty(x.shape(), dtype, at.device);
  CastParams p;
  p.from = at.dtype;
  p.to = dtype;
  p.N = x.numel();
  p.out = out.raw_data();
  p.inp = x.raw_data();
  kCastFwd(op, at.device, p);
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [p, at, op](Node& n) mutable {
      p.dinp = grad_ptr_or_null(n.inputs[0]);
      p.dout = n.outputs[0].grad().raw_data();
      kCastBwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace docbert
