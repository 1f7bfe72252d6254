// concat and slice: both move `outer` strided blocks between two layouts (kernels/shape.h), so they share one copy
// (any dtype, bytes) and one accumulate (float dtypes) for the backward: the CPU implementation, then the wrappers.
#include "engine/ops/shape.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/parallel.h"
#include "kernels/shape.h"

#include <cstring>

namespace docbert {

namespace cpu {

// dst blocks = src blocks, as bytes
static void strided_copy_forward(const StridedCopyParams& p) {
  if (p.len == 0) return;  // empty tensors may have no buffer at all
  const size_t elem = dtype_size(p.dtype);
  char* d = static_cast<char*>(p.dst);
  const char* s = static_cast<const char*>(p.src);
  parallel_for(
      p.outer,
      [&](int64_t o) {
        std::memcpy(d + (o * p.dst_row + p.dst_off) * elem, s + (o * p.src_row + p.src_off) * elem, p.len * elem);
      },
      64);
}

// dsrc blocks += ddst blocks
static void strided_copy_backward(const StridedCopyParams& p) {
  if (!p.dsrc) return;
  dispatch_float(p.dtype, "strided_copy_backward", [&](auto tag) {
    using T = decltype(tag);
    T* dsrc = static_cast<T*>(p.dsrc);
    const T* ddst = static_cast<const T*>(p.ddst);
    parallel_for(
        p.outer,
        [&](int64_t o) {
          T* d = dsrc + o * p.src_row + p.src_off;
          const T* s = ddst + o * p.dst_row + p.dst_off;
          for (int64_t j = 0; j < p.len; ++j) d[j] += s[j];
        },
        64);
  });
}

}  // namespace cpu

namespace {

constexpr OpImpl<StridedCopyParams> kFwd{cpu::strided_copy_forward, DOCBERT_CUDA(cuda::strided_copy_forward)};
constexpr OpImpl<StridedCopyParams> kBwd{cpu::strided_copy_backward, DOCBERT_CUDA(cuda::strided_copy_backward)};

// Resolves a possibly negative dim of x.
int64_t resolve_dim(const char* op, int64_t dim, const Tensor& x) {
  const int64_t d = dim < 0 ? dim + x.dim() : dim;
  DOCBERT_CHECK(0 <= d && d < x.dim(), "{}: dim {} is out of range for {}", op, dim, x.describe());
  return d;
}

// prod(shape[0:d]) and prod(shape[d+1:])
int64_t outer_of(const Shape& s, int64_t d) { return shape_numel(Shape(s.begin(), s.begin() + d)); }
int64_t inner_of(const Shape& s, int64_t d) { return shape_numel(Shape(s.begin() + d + 1, s.end())); }

}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  DOCBERT_CHECK(!xs.empty(), "concat: needs at least one tensor");
  const Tensor& x0 = xs[0];
  DOCBERT_CHECK(x0.defined(), "concat: xs[0] is undefined");
  const int64_t d = resolve_dim("concat", dim, x0);
  Shape out_shape = x0.shape();
  out_shape[d] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k];
    DOCBERT_CHECK(x.defined(), "concat: xs[{}] is undefined", k);
    DOCBERT_CHECK(x.dtype() == x0.dtype(), "concat: dtype mismatch: xs[0] is {} but xs[{}] is {}", x0.describe(), k,
                  x.describe());
    DOCBERT_CHECK(x.device() == x0.device(), "concat: device mismatch: xs[0] is {} but xs[{}] is {}", x0.describe(), k,
                  x.describe());
    Shape s = x.shape();
    bool ok = s.size() == x0.shape().size();
    if (ok) {
      s[d] = x0.size(d);
      ok = s == x0.shape();
    }
    DOCBERT_CHECK(ok, "concat: shape mismatch: xs[0] is {} but xs[{}] is {}; only dim {} may differ",
                  shape_str(x0.shape()), k, shape_str(x.shape()), dim);
    out_shape[d] += x.size(d);
  }
  const Device device = x0.device();
  const int64_t outer = outer_of(out_shape, d), inner = inner_of(out_shape, d), row = out_shape[d] * inner;
  Tensor out = Tensor::empty(out_shape, x0.dtype(), device);
  // ps[k] moves input k into its columns of the output; its backward moves their gradient back.
  std::vector<StridedCopyParams> ps;
  int64_t off = 0;
  for (const Tensor& x : xs) {
    StridedCopyParams p;
    p.dtype = x0.dtype();
    p.outer = outer;
    p.len = x.size(d) * inner;
    p.dst_row = row;
    p.dst_off = off;
    p.src_row = p.len;
    p.src_off = 0;
    p.dst = out.raw_data();
    p.src = x.raw_data();
    kFwd("concat", device, p);
    ps.push_back(p);
    off += p.len;
  }
  if (grad_needed(xs)) {
    record_node("concat", xs, {out}, [ps, device](Node& n) mutable {
      for (size_t k = 0; k < ps.size(); ++k) {
        ps[k].dsrc = grad_ptr_or_null(n.inputs[k]);
        if (!ps[k].dsrc) continue;
        ps[k].ddst = n.outputs[0].grad().raw_data();
        kBwd("concat", device, ps[k]);
      }
    });
  }
  return out;
}

Tensor slice(const Tensor& x, int64_t dim, int64_t begin, int64_t end) {
  DOCBERT_CHECK(x.defined(), "slice: argument 'x' is undefined");
  const int64_t d = resolve_dim("slice", dim, x);
  DOCBERT_CHECK(0 <= begin && begin <= end && end <= x.size(d), "slice: [{}, {}) is outside dim {} (size {}) of 'x' {}",
                begin, end, dim, x.size(d), shape_str(x.shape()));
  Shape out_shape = x.shape();
  out_shape[d] = end - begin;
  const int64_t inner = inner_of(out_shape, d);
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  StridedCopyParams p;
  p.dtype = x.dtype();
  p.outer = outer_of(out_shape, d);
  p.len = (end - begin) * inner;
  p.dst_row = p.len;
  p.dst_off = 0;
  p.src_row = x.size(d) * inner;
  p.src_off = begin * inner;
  p.dst = out.raw_data();
  p.src = x.raw_data();
  const Device device = x.device();
  kFwd("slice", device, p);
  if (grad_needed({&x})) {
    record_node("slice", {x}, {out}, [p, device](Node& n) mutable {
      p.dsrc = grad_ptr_or_null(n.inputs[0]);
      p.ddst = n.outputs[0].grad().raw_data();
      kBwd("slice", device, p);
    });
  }
  return out;
}

}  // namespace docbert
