// Pointwise ops: forward/backward pairs over raw pointers (N elements), then the autograd wrappers.
#include "engine/ops/elementwise.h"

#include "engine/autograd.h"
#include "engine/parallel.h"

#include <cmath>

namespace docbert {

// ---------------------------------------------------------------------------------------------------
// kernels: out (N) = f(inp (N)); backward accumulates dinp += f'(inp) * dout

template <class T>
static void gelu_forward(T* out, const T* inp, int64_t N, GeluKind kind) {
  const T k0 = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
  parallel_for(N, [&](int64_t i) {
    T x = inp[i];
    if (kind == GeluKind::Erf)
      out[i] = T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(M_SQRT1_2)));
    else
      out[i] = T(0.5) * x * (T(1) + std::tanh(k0 * (x + T(0.044715) * x * x * x)));
  });
}

template <class T>
static void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t N, GeluKind kind) {
  const T k0 = static_cast<T>(0.7978845608028654);
  const T inv_sqrt_2pi = static_cast<T>(0.3989422804014327);
  parallel_for(N, [&](int64_t i) {
    T x = inp[i], d;
    if (kind == GeluKind::Erf) {
      // d/dx [x Phi(x)] = Phi(x) + x phi(x)
      d = T(0.5) * (T(1) + std::erf(x * static_cast<T>(M_SQRT1_2))) + x * inv_sqrt_2pi * std::exp(T(-0.5) * x * x);
    } else {
      T u = k0 * (x + T(0.044715) * x * x * x);
      T th = std::tanh(u);
      d = T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * k0 * (T(1) + T(3) * T(0.044715) * x * x);
    }
    dinp[i] += d * dout[i];
  });
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
      [](auto* o, const auto* i, int64_t N) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(i)>>;
        // Split by sign so exp() never overflows.
        parallel_for(N, [&](int64_t k) {
          T v = i[k];
          if (v >= 0)
            o[k] = T(1) / (T(1) + std::exp(-v));
          else {
            T e = std::exp(v);
            o[k] = e / (T(1) + e);
          }
        });
      },
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

static int64_t broadcast_rows(const char* op, const Tensor& a, const Tensor& b) {
  check_float(op, "a", a);
  check_float(op, "b", b);
  check_same_dtype(op, "a", a, "b", b);
  check_same_device(op, "a", a, "b", b);
  check_cpu(op, a);
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
    parallel_for(R * S, [&](int64_t i) { po[i] = pa[i] + pb[i % S]; });
  });
  if (grad_needed({&a, &b})) {
    record_node("add", {a, b}, {out}, [R, S](Node& n) {
      const Tensor& g = n.outputs[0].grad();
      if (n.inputs[0].requires_grad()) add_into(n.inputs[0].grad_buffer(), g);
      if (n.inputs[1].requires_grad()) {
        dispatch_float(g.dtype(), "add", [&](auto tag) {
          using T = decltype(tag);
          T* db = n.inputs[1].grad_buffer().template data<T>();
          const T* pg = g.data<T>();
          // Each thread owns a slice of the suffix and sums rows in a fixed order: deterministic.
          parallel_for(
              S,
              [&](int64_t s) {
                T acc = 0;
                for (int64_t r = 0; r < R; ++r) acc += pg[r * S + s];
                db[s] += acc;
              },
              256);
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
    parallel_for(R * S, [&](int64_t i) { po[i] = pa[i] * pb[i % S]; });
  });
  if (grad_needed({&a, &b})) {
    record_node("mul", {a, b}, {out}, [R, S](Node& n) {
      const Tensor& g = n.outputs[0].grad();
      dispatch_float(g.dtype(), "mul", [&](auto tag) {
        using T = decltype(tag);
        const T *pg = g.data<T>(), *pa = n.inputs[0].data<T>(), *pb = n.inputs[1].data<T>();
        if (n.inputs[0].requires_grad()) {
          T* da = n.inputs[0].grad_buffer().template data<T>();
          parallel_for(R * S, [&](int64_t i) { da[i] += pg[i] * pb[i % S]; });
        }
        if (n.inputs[1].requires_grad()) {
          T* db = n.inputs[1].grad_buffer().template data<T>();
          parallel_for(
              S,
              [&](int64_t s) {
                T acc = 0;
                for (int64_t r = 0; r < R; ++r) acc += pg[r * S + s] * pa[r * S + s];
                db[s] += acc;
              },
              256);
        }
      });
    });
  }
  return out;
}

}  // namespace docbert
