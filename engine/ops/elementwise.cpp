// Pointwise ops: forward/backward pairs over raw pointers (N elements), then the autograd wrappers.
#include "engine/ops/elementwise.h"

#include "engine/autograd.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/gelu_math.h"

#include <algorithm>
#include <cmath>

namespace docbert {

// ---------------------------------------------------------------------------------------------------
// kernels: out (N) = f(inp (N)); backward accumulates dinp += f'(inp) * dout

template <class T>
static void gelu_forward(T* out, const T* inp, int64_t N, GeluKind kind) {
  if (kind == GeluKind::Erf)
    parallel_for(N, [&](int64_t i) { out[i] = gelu_erf(inp[i]); });
  else
    parallel_for(N, [&](int64_t i) { out[i] = gelu_tanh(inp[i]); });
}

template <class T>
static void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t N, GeluKind kind) {
  if (kind == GeluKind::Erf)
    parallel_for(N, [&](int64_t i) { dinp[i] += gelu_erf_grad(inp[i]) * dout[i]; });
  else
    parallel_for(N, [&](int64_t i) { dinp[i] += gelu_tanh_grad(inp[i]) * dout[i]; });
}

// ---------------------------------------------------------------------------------------------------
// shared plumbing for unary ops: check, allocate, run forward, record backward

template <class Fwd, class Bwd>
static Tensor unary_op(const char* op, const Tensor& x, Fwd fwd, Bwd bwd) {
  check_float(op, "x", x);
  check_cpu(op, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    fwd(out.data<T>(), x.data<T>(), x.numel());
  });
  if (grad_needed({&x})) {
    record_node(op, {x}, {out}, [op, bwd](Node& n) {
      const Tensor& x_ = n.inputs[0];
      const Tensor& y = n.outputs[0];
      dispatch_float(x_.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        bwd(n.inputs[0].grad_buffer().template data<T>(), x_.data<T>(), y.data<T>(), y.grad().data<T>(), x_.numel());
      });
    });
  }
  return out;
}

Tensor gelu(const Tensor& x, GeluKind kind) {
  return unary_op(
      "gelu", x, [kind](auto* o, const auto* i, int64_t N) { gelu_forward(o, i, N, kind); },
      [kind](auto* di, const auto* i, const auto*, const auto* d, int64_t N) { gelu_backward(di, i, d, N, kind); });
}

Tensor tanh(const Tensor& x) {
  return unary_op(
      "tanh", x, [](auto* o, const auto* i, int64_t N) { parallel_for(N, [&](int64_t k) { o[k] = std::tanh(i[k]); }); },
      [](auto* di, const auto*, const auto* y, const auto* d, int64_t N) {
        parallel_for(N, [&](int64_t k) { di[k] += (1 - y[k] * y[k]) * d[k]; });
      });
}

Tensor relu(const Tensor& x) {
  return unary_op(
      "relu", x,
      [](auto* o, const auto* i, int64_t N) { parallel_for(N, [&](int64_t k) { o[k] = i[k] > 0 ? i[k] : 0; }); },
      [](auto* di, const auto* i, const auto*, const auto* d, int64_t N) {
        parallel_for(N, [&](int64_t k) { di[k] += i[k] > 0 ? d[k] : 0; });
      });
}

Tensor sigmoid(const Tensor& x) {
  return unary_op(
      "sigmoid", x,
      [](auto* o, const auto* i, int64_t N) { parallel_for(N, [&](int64_t k) { o[k] = stable_sigmoid(i[k]); }); },
      [](auto* di, const auto*, const auto* y, const auto* d, int64_t N) {
        parallel_for(N, [&](int64_t k) { di[k] += y[k] * (1 - y[k]) * d[k]; });
      });
}

Tensor scale(const Tensor& x, double s) {
  return unary_op(
      "scale", x, [s](auto* o, const auto* i, int64_t N) { parallel_for(N, [&](int64_t k) { o[k] = i[k] * s; }); },
      [s](auto* di, const auto*, const auto*, const auto* d, int64_t N) {
        parallel_for(N, [&](int64_t k) { di[k] += d[k] * s; });
      });
}

// ---------------------------------------------------------------------------------------------------
// binary ops with suffix broadcasting: a is (R, S) viewed as R rows of the S = b.numel() suffix

// Rows per parallel chunk so a thread gets at least ~4096 elements, as parallel_for's default grain does.
static int64_t rows_grain(int64_t S) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(S, 1)); }

static int64_t broadcast_rows(const char* op, const Tensor& a, const Tensor& b) {
  check_float_operands(op, {{"a", a}, {"b", b}});
  const Shape& as = a.shape();
  const Shape& bs = b.shape();
  bool ok = bs.size() <= as.size() && std::equal(bs.begin(), bs.end(), as.end() - static_cast<int64_t>(bs.size()));
  DOCBERT_CHECK(ok, "{}: shape mismatch: 'b' {} must equal a trailing part of 'a' {}", op, shape_str(bs),
                shape_str(as));
  return b.numel() ? a.numel() / b.numel() : 0;
}

Tensor add(const Tensor& a, const Tensor& b) {
  const int64_t R = broadcast_rows("add", a, b), S = b.numel();
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  dispatch_float(a.dtype(), "add", [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* po = out.data<T>();
    parallel_for(
        R,
        [&](int64_t r) {
          for (int64_t s = 0; s < S; ++s) po[r * S + s] = pa[r * S + s] + pb[s];
        },
        rows_grain(S));
  });
  if (grad_needed({&a, &b})) {
    record_node("add", {a, b}, {out}, [R, S](Node& n) {
      const Tensor& g = n.outputs[0].grad();
      if (n.inputs[0].requires_grad()) add_into(n.inputs[0].grad_buffer(), g);
      if (n.inputs[1].requires_grad()) {
        dispatch_float(g.dtype(), "add", [&](auto tag) {
          using T = decltype(tag);
          column_sums_into(n.inputs[1].grad_buffer().template data<T>(), g.data<T>(), R, S);
        });
      }
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  const int64_t R = broadcast_rows("mul", a, b), S = b.numel();
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  dispatch_float(a.dtype(), "mul", [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* po = out.data<T>();
    parallel_for(
        R,
        [&](int64_t r) {
          for (int64_t s = 0; s < S; ++s) po[r * S + s] = pa[r * S + s] * pb[s];
        },
        rows_grain(S));
  });
  if (grad_needed({&a, &b})) {
    record_node("mul", {a, b}, {out}, [R, S](Node& n) {
      const Tensor& g = n.outputs[0].grad();
      dispatch_float(g.dtype(), "mul", [&](auto tag) {
        using T = decltype(tag);
        const T *pg = g.data<T>(), *pa = n.inputs[0].data<T>(), *pb = n.inputs[1].data<T>();
        if (T* da = grad_data_or_null<T>(n.inputs[0])) {
          parallel_for(
              R,
              [&](int64_t r) {
                for (int64_t s = 0; s < S; ++s) da[r * S + s] += pg[r * S + s] * pb[s];
              },
              rows_grain(S));
        }
        if (T* db = grad_data_or_null<T>(n.inputs[1]))
          column_sums_into(db, R, S, [&](int64_t r, int64_t s) { return pg[r * S + s] * pa[r * S + s]; });
      });
    });
  }
  return out;
}

}  // namespace docbert
