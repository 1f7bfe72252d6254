// concat and slice: both move `outer` strided blocks between two layouts, so they share one copy kernel (any
// dtype, bytes) and one accumulate kernel (f32/f64) for the backward.
#include "engine/ops/shape.h"

#include "engine/autograd.h"
#include "engine/parallel.h"

#include <cstring>

namespace docbert {

// For o in [0, outer): dst[o * dst_row + dst_off + j] (= or +=) src[o * src_row + src_off + j], j in [0, len).
// Units are elements. A tensor (A..., S, B...) split at one dim has outer = prod(A), rows of S * prod(B).
struct Blocks {
  int64_t outer, len, dst_row, dst_off, src_row, src_off;
  Blocks reversed() const { return Blocks{outer, len, src_row, src_off, dst_row, dst_off}; }  // for the backward
};

static void copy_blocks(void* dst, const void* src, size_t elem, const Blocks& b) {
  if (b.len == 0) return;  // empty tensors may have no buffer at all
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  parallel_for(
      b.outer,
      [&](int64_t o) {
        std::memcpy(d + (o * b.dst_row + b.dst_off) * elem, s + (o * b.src_row + b.src_off) * elem, b.len * elem);
      },
      64);
}

template <class T>
static void add_blocks(T* dst, const T* src, const Blocks& b) {
  parallel_for(
      b.outer,
      [&](int64_t o) {
        T* d = dst + o * b.dst_row + b.dst_off;
        const T* s = src + o * b.src_row + b.src_off;
        for (int64_t j = 0; j < b.len; ++j) d[j] += s[j];
      },
      64);
}

// Resolves a possibly negative dim of x.
static int64_t resolve_dim(const char* op, int64_t dim, const Tensor& x) {
  const int64_t d = dim < 0 ? dim + x.dim() : dim;
  DOCBERT_CHECK(0 <= d && d < x.dim(), "{}: dim {} is out of range for {}", op, dim, x.describe());
  return d;
}

// prod(shape[0:d]) and prod(shape[d+1:])
static int64_t outer_of(const Shape& s, int64_t d) { return shape_numel(Shape(s.begin(), s.begin() + d)); }
static int64_t inner_of(const Shape& s, int64_t d) { return shape_numel(Shape(s.begin() + d + 1, s.end())); }

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
    check_cpu("concat", x);
    DOCBERT_CHECK(x.dtype() == x0.dtype(), "concat: dtype mismatch: xs[0] is {} but xs[{}] is {}", x0.describe(), k,
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
  const int64_t outer = outer_of(out_shape, d), inner = inner_of(out_shape, d), row = out_shape[d] * inner;
  // blocks[k] moves input k into the output; blocks[k].reversed() moves its gradient back.
  std::vector<Blocks> blocks;
  int64_t off = 0;
  for (const Tensor& x : xs) {
    const int64_t len = x.size(d) * inner;
    blocks.push_back(Blocks{outer, len, row, off, len, 0});
    off += len;
  }
  Tensor out = Tensor::empty(out_shape, x0.dtype());
  for (size_t k = 0; k < xs.size(); ++k)
    copy_blocks(out.raw_data(), xs[k].raw_data(), dtype_size(x0.dtype()), blocks[k]);
  if (grad_needed(xs)) {
    record_node("concat", xs, {out}, [blocks](Node& n) {
      const Tensor& g = n.outputs[0].grad();
      dispatch_float(g.dtype(), "concat", [&](auto tag) {
        using T = decltype(tag);
        for (size_t k = 0; k < blocks.size(); ++k) {
          if (!n.inputs[k].requires_grad()) continue;
          add_blocks(n.inputs[k].grad_buffer().template data<T>(), g.data<T>(), blocks[k].reversed());
        }
      });
    });
  }
  return out;
}

Tensor slice(const Tensor& x, int64_t dim, int64_t begin, int64_t end) {
  DOCBERT_CHECK(x.defined(), "slice: argument 'x' is undefined");
  check_cpu("slice", x);
  const int64_t d = resolve_dim("slice", dim, x);
  DOCBERT_CHECK(0 <= begin && begin <= end && end <= x.size(d), "slice: [{}, {}) is outside dim {} (size {}) of 'x' {}",
                begin, end, dim, x.size(d), shape_str(x.shape()));
  Shape out_shape = x.shape();
  out_shape[d] = end - begin;
  const int64_t inner = inner_of(out_shape, d), len = (end - begin) * inner;
  const Blocks b{outer_of(out_shape, d), len, len, 0, x.size(d) * inner, begin * inner};
  Tensor out = Tensor::empty(out_shape, x.dtype());
  copy_blocks(out.raw_data(), x.raw_data(), dtype_size(x.dtype()), b);
  if (grad_needed({&x})) {
    record_node("slice", {x}, {out}, [b](Node& n) {
      const Tensor& g = n.outputs[0].grad();
      dispatch_float(g.dtype(), "slice", [&](auto tag) {
        using T = decltype(tag);
        add_blocks(n.inputs[0].grad_buffer().template data<T>(), g.data<T>(), b.reversed());
      });
    });
  }
  return out;
}

}  // namespace docbert
