// Pointwise ops: the CPU implementations over kernels/elementwise.h's params, then the autograd wrappers.
#include "engine/ops/elementwise.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/elementwise.h"
#include "kernels/gelu_math.h"

#include <algorithm>
#include <cmath>

namespace docbert {

namespace cpu {

// out (N) = f(inp (N)); backward: dinp (N) += f'(.) * dout (N)
template <class T>
static T unary_f(UnaryOp op, T x, T alpha) {
  switch (op) {
    case UnaryOp::Scale:
      return x * alpha;
    case UnaryOp::Tanh:
      return std::tanh(x);
    case UnaryOp::Relu:
      return x > 0 ? x : T(0);
    case UnaryOp::Sigmoid:
      return stable_sigmoid(x);
    case UnaryOp::GeluErf:
      return gelu_erf(x);
    case UnaryOp::GeluTanh:
      return gelu_tanh(x);
  }
  return x;
}

// f'(x) * d from the forward's input x or output y (tanh and sigmoid are cheaper in y).
template <class T>
static T unary_df(UnaryOp op, T x, T y, T d, T alpha) {
  switch (op) {
    case UnaryOp::Scale:
      return d * alpha;
    case UnaryOp::Tanh:
      return (1 - y * y) * d;
    case UnaryOp::Relu:
      return x > 0 ? d : T(0);
    case UnaryOp::Sigmoid:
      return y * (1 - y) * d;
    case UnaryOp::GeluErf:
      return gelu_erf_grad(x) * d;
    case UnaryOp::GeluTanh:
      return gelu_tanh_grad(x) * d;
  }
  return d;
}

static void unary_forward(const UnaryParams& p) {
  dispatch_float(p.dtype, "unary_forward", [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(p.out);
    const T* inp = static_cast<const T*>(p.inp);
    const T alpha = static_cast<T>(p.alpha);
    parallel_for(p.N, [&](int64_t i) { out[i] = unary_f(p.op, inp[i], alpha); });
  });
}

static void unary_backward(const UnaryParams& p) {
  if (!p.dinp) return;
  dispatch_float(p.dtype, "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    T* dinp = static_cast<T*>(p.dinp);
    const T *inp = static_cast<const T*>(p.inp), *out = static_cast<const T*>(p.out),
            *dout = static_cast<const T*>(p.dout);
    const T alpha = static_cast<T>(p.alpha);
    parallel_for(p.N, [&](int64_t i) { dinp[i] += unary_df(p.op, inp[i], out[i], dout[i], alpha); });
  });
}

// Rows per parallel chunk so a thread gets at least ~4096 elements, as parallel_for's default grain does.
static int64_t rows_grain(int64_t S) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(S, 1)); }

// out (R,S) = a (R,S) op b (S)
static void binary_forward(const BinaryParams& p) {
  dispatch_float(p.dtype, "binary_forward", [&](auto tag) {
    using T = decltype(tag);
    const T *a = static_cast<const T*>(p.a), *b = static_cast<const T*>(p.b);
    T* out = static_cast<T*>(p.out);
    const int64_t S = p.S;
    const bool add = p.op == BinaryOp::Add;
    parallel_for(
        p.R,
        [&](int64_t r) {
          for (int64_t s = 0; s < S; ++s) out[r * S + s] = add ? a[r * S + s] + b[s] : a[r * S + s] * b[s];
        },
        rows_grain(S));
  });
}

// da (R,S) += dout (* b);  db (S) += column sums of dout (* a)
static void binary_backward(const BinaryParams& p) {
  dispatch_float(p.dtype, "binary_backward", [&](auto tag) {
    using T = decltype(tag);
    const T *g = static_cast<const T*>(p.dout), *a = static_cast<const T*>(p.a), *b = static_cast<const T*>(p.b);
    const int64_t S = p.S;
    const bool add = p.op == BinaryOp::Add;
    if (T* da = static_cast<T*>(p.da)) {
      parallel_for(
          p.R,
          [&](int64_t r) {
            for (int64_t s = 0; s < S; ++s) da[r * S + s] += add ? g[r * S + s] : g[r * S + s] * b[s];
          },
          rows_grain(S));
    }
    if (T* db = static_cast<T*>(p.db)) {
      if (add)
        column_sums_into(db, g, p.R, S);
      else
        column_sums_into(db, p.R, S, [&](int64_t r, int64_t s) { return g[r * S + s] * a[r * S + s]; });
    }
  });
}

}  // namespace cpu

namespace {

constexpr OpImpl<UnaryParams> kUnaryFwd{cpu::unary_forward, DOCBERT_CUDA(cuda::unary_forward)};
constexpr OpImpl<UnaryParams> kUnaryBwd{cpu::unary_backward, DOCBERT_CUDA(cuda::unary_backward)};
constexpr OpImpl<BinaryParams> kBinaryFwd{cpu::binary_forward, DOCBERT_CUDA(cuda::binary_forward)};
constexpr OpImpl<BinaryParams> kBinaryBwd{cpu::binary_backward, DOCBERT_CUDA(cuda::binary_backward)};

Tensor unary(const char* name, const Tensor& x, UnaryOp op, double alpha = 1) {
  const OpTarget at = check_float_operands(name, {{"x", x}});
  Tensor out = Tensor::empty(x.shape(), at.dtype, at.device);
  UnaryParams p;
  p.op = op;
  p.dtype = at.dtype;
  p.N = x.numel();
  p.alpha = alpha;
  p.out = out.raw_data();
  p.inp = x.raw_data();
  kUnaryFwd(name, at.device, p);
  if (grad_needed({&x})) {
    record_node(name, {x}, {out}, [name, p, at](Node& n) mutable {
      p.dinp = grad_ptr_or_null(n.inputs[0]);
      p.dout = n.outputs[0].grad().raw_data();
      kUnaryBwd(name, at.device, p);
    });
  }
  return out;
}

Tensor binary(const char* name, const Tensor& a, const Tensor& b, BinaryOp op) {
  const OpTarget at = check_float_operands(name, {{"a", a}, {"b", b}});
  const Shape& as = a.shape();
  const Shape& bs = b.shape();
  bool ok = bs.size() <= as.size() && std::equal(bs.begin(), bs.end(), as.end() - static_cast<int64_t>(bs.size()));
  DOCBERT_CHECK(ok, "{}: shape mismatch: 'b' {} must equal a trailing part of 'a' {}", name, shape_str(bs),
                shape_str(as));
  Tensor out = Tensor::empty(a.shape(), at.dtype, at.device);
  BinaryParams p;
  p.op = op;
  p.dtype = at.dtype;
  p.S = b.numel();
  p.R = p.S ? a.numel() / p.S : 0;
  p.out = out.raw_data();
  p.a = a.raw_data();
  p.b = b.raw_data();
  kBinaryFwd(name, at.device, p);
  if (grad_needed({&a, &b})) {
    record_node(name, {a, b}, {out}, [name, p, at](Node& n) mutable {
      p.da = grad_ptr_or_null(n.inputs[0]);
      p.db = grad_ptr_or_null(n.inputs[1]);
      p.dout = n.outputs[0].grad().raw_data();
      kBinaryBwd(name, at.device, p);
    });
  }
  return out;
}

}  // namespace

Tensor gelu(const Tensor& x, GeluKind kind) {
  return unary("gelu", x, kind == GeluKind::Erf ? UnaryOp::GeluErf : UnaryOp::GeluTanh);
}
Tensor tanh(const Tensor& x) { return unary("tanh", x, UnaryOp::Tanh); }
Tensor relu(const Tensor& x) { return unary("relu", x, UnaryOp::Relu); }
Tensor sigmoid(const Tensor& x) { return unary("sigmoid", x, UnaryOp::Sigmoid); }
Tensor scale(const Tensor& x, double s) { return unary("scale", x, UnaryOp::Scale, s); }
Tensor add(const Tensor& a, const Tensor& b) { return binary("add", a, b, BinaryOp::Add); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary("mul", a, b, BinaryOp::Mul); }

}  // namespace docbert
