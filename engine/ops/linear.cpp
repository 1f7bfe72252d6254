// Dense layers and batched GEMMs: an Eigen GEMM over raw row-major buffers, the kernels, then the autograd wrappers.
#include "engine/ops/linear.h"

#include "engine/autograd.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"

#include <Eigen/Core>

#include <algorithm>

namespace docbert {

template <class T>
using MatMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using ConstMatMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// c (M,N) = or += op(a) (M,K) op(b) (K,N), all row-major; a is stored (K,M) when ta, b is stored (N,K) when tb.
// The transpose of a row-major map is a column-major map of the same buffer, so no operand is ever copied.
template <class T>
static void gemm(T* c, const T* a, const T* b, int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool accumulate) {
  MatMap<T> C(c, M, N);
  ConstMatMap<T> A(a, ta ? K : M, ta ? M : K), B(b, tb ? N : K, tb ? K : N);
  auto run = [&](const auto& opa, const auto& opb) {
    if (accumulate)
      C.noalias() += opa * opb;
    else
      C.noalias() = opa * opb;
  };
  if (ta && tb)
    run(A.transpose(), B.transpose());
  else if (ta)
    run(A.transpose(), B);
  else if (tb)
    run(A, B.transpose());
  else
    run(A, B);
}

// ---------------------------------------------------------------------------------------------------
// linear kernels

// out (R,OUT) = x (R,IN) w^T + bias; w (OUT,IN), bias (OUT) or null.
template <class T>
static void linear_forward(T* out, const T* x, const T* w, const T* bias, int64_t R, int64_t IN, int64_t OUT) {
  if (bias)
    parallel_for(
        R, [&](int64_t r) { std::copy(bias, bias + OUT, out + r * OUT); }, 64);
  gemm(out, x, w, R, OUT, IN, false, true, bias != nullptr);
}

// dx (R,IN) += dout w; dw (OUT,IN) += dout^T x; dbias (OUT) += column sums of dout (R,OUT). Null grads are skipped.
template <class T>
static void linear_backward(T* dx, T* dw, T* dbias, const T* dout, const T* x, const T* w, int64_t R, int64_t IN,
                            int64_t OUT) {
  if (dx) gemm(dx, dout, w, R, IN, OUT, false, false, true);
  if (dw) gemm(dw, dout, x, OUT, IN, R, true, false, true);
  if (dbias) column_sums_into(dbias, dout, R, OUT);
}

// ---------------------------------------------------------------------------------------------------
// batched matmul kernels: `batch` independent products, or one shared b

struct MatmulDims {
  int64_t batch, M, N, K;
  bool shared_b;  // b is one (K,N) matrix used by every batch element
  bool ta, tb;
};

// Runs f(i) for every batch element: one GEMM is left to Eigen's own threads; several run single-threaded in
// parallel (Eigen does not nest inside our parallel region), which keeps each GEMM's rounding thread-count free.
template <class F>
static void for_each_batch(int64_t batch, F&& f) {
  if (batch == 1)
    f(0);
  else
    parallel_for(batch, f, 2);
}

// c (batch,M,N) = op(a) op(b); a (batch,M,K) or (batch,K,M); b (batch,K,N) or (batch,N,K), or one matrix if shared.
template <class T>
static void matmul_forward(T* c, const T* a, const T* b, const MatmulDims& d) {
  const int64_t b_stride = d.shared_b ? 0 : d.K * d.N;
  for_each_batch(d.batch, [&](int64_t i) {
    gemm(c + i * d.M * d.N, a + i * d.M * d.K, b + i * b_stride, d.M, d.N, d.K, d.ta, d.tb, false);
  });
}

// da += dc op(b)^T (or its transpose), db += op(a)^T dc (or its transpose), per batch element; null grads skipped.
// A shared b sums its gradient over the batch, serially in batch order so the result is deterministic.
template <class T>
static void matmul_backward(T* da, T* db, const T* dc, const T* a, const T* b, const MatmulDims& d) {
  const int64_t MN = d.M * d.N, MK = d.M * d.K, b_stride = d.shared_b ? 0 : d.K * d.N;
  auto grads = [&](int64_t i, T* da_, T* db_) {
    const T *dci = dc + i * MN, *ai = a + i * MK, *bi = b + i * b_stride;
    if (da_) {
      T* dai = da_ + i * MK;
      if (!d.ta)
        gemm(dai, dci, bi, d.M, d.K, d.N, false, !d.tb, true);  // (M,K) += dc (M,N) op(b)^T (N,K)
      else
        gemm(dai, bi, dci, d.K, d.M, d.N, d.tb, true, true);  // (K,M) += op(b) (K,N) dc^T (N,M)
    }
    if (db_) {
      T* dbi = db_ + i * b_stride;
      if (!d.tb)
        gemm(dbi, ai, dci, d.K, d.N, d.M, !d.ta, false, true);  // (K,N) += op(a)^T (K,M) dc (M,N)
      else
        gemm(dbi, dci, ai, d.N, d.K, d.M, true, d.ta, true);  // (N,K) += dc^T (N,M) op(a) (M,K)
    }
  };
  const bool serial_db = d.shared_b && d.batch > 1;
  for_each_batch(d.batch, [&](int64_t i) { grads(i, da, serial_db ? nullptr : db); });
  if (serial_db && db)
    for (int64_t i = 0; i < d.batch; ++i) grads(i, nullptr, db);
}

// ---------------------------------------------------------------------------------------------------
// autograd wrappers

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "linear";
  check_dim(op, "weight", weight, 2);
  check_float_operands(op, {{"x", x}, {"weight", weight}, {"bias", bias, true}});
  DOCBERT_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
                "linear: shape mismatch: the last dim of 'x' {} must equal IN of 'weight' (OUT,IN) {}",
                shape_str(x.shape()), shape_str(weight.shape()));
  const int64_t IN = weight.size(1), OUT = weight.size(0);
  const int64_t R = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  if (bias.defined())
    DOCBERT_CHECK(bias.shape() == Shape{OUT}, "linear: shape mismatch: 'bias' {} must be (OUT) for 'weight' {}",
                  shape_str(bias.shape()), shape_str(weight.shape()));
  Shape out_shape = x.shape();
  out_shape.back() = OUT;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    linear_forward(out.data<T>(), x.data<T>(), weight.data<T>(), data_or_null<T>(bias), R, IN, OUT);
  });
  if (grad_needed({&x, &weight, &bias})) {
    record_node(op, {x, weight, bias}, {out}, [R, IN, OUT](Node& n) {
      dispatch_float(n.outputs[0].dtype(), "linear", [&](auto tag) {
        using T = decltype(tag);
        linear_backward(grad_data_or_null<T>(n.inputs[0]), grad_data_or_null<T>(n.inputs[1]),
                        grad_data_or_null<T>(n.inputs[2]), n.outputs[0].grad().data<T>(), n.inputs[0].data<T>(),
                        n.inputs[1].data<T>(), R, IN, OUT);
      });
    });
  }
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  const char* op = "matmul";
  check_float_operands(op, {{"a", a}, {"b", b}});
  DOCBERT_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: 'a' {} and 'b' {} must have at least 2 dims",
                shape_str(a.shape()), shape_str(b.shape()));
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  MatmulDims d;
  d.ta = trans_a;
  d.tb = trans_b;
  d.shared_b = b.dim() == 2 && a.dim() > 2;
  DOCBERT_CHECK(d.shared_b || a_batch == b_batch,
                "matmul: shape mismatch: batch dims of 'a' {} and 'b' {} differ (b must match them or be 2-D)",
                shape_str(a.shape()), shape_str(b.shape()));
  d.batch = shape_numel(a_batch);
  d.M = a.size(trans_a ? -1 : -2);
  d.K = a.size(trans_a ? -2 : -1);
  d.N = b.size(trans_b ? -2 : -1);
  const int64_t Kb = b.size(trans_b ? -1 : -2);
  DOCBERT_CHECK(d.K == Kb, "matmul: shape mismatch: inner dims differ: 'a' {}{} gives K={} but 'b' {}{} gives K={}",
                shape_str(a.shape()), trans_a ? " (transposed)" : "", d.K, shape_str(b.shape()),
                trans_b ? " (transposed)" : "", Kb);
  Shape out_shape = a_batch;
  out_shape.push_back(d.M);
  out_shape.push_back(d.N);
  if (d.shared_b && !d.ta) {  // (batch*M, K) rows against one b: a single, larger GEMM
    d.M *= d.batch;
    d.batch = 1;
  }
  Tensor out = Tensor::empty(out_shape, a.dtype());
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    matmul_forward(out.data<T>(), a.data<T>(), b.data<T>(), d);
  });
  if (grad_needed({&a, &b})) {
    record_node(op, {a, b}, {out}, [d](Node& n) {
      dispatch_float(n.outputs[0].dtype(), "matmul", [&](auto tag) {
        using T = decltype(tag);
        matmul_backward(grad_data_or_null<T>(n.inputs[0]), grad_data_or_null<T>(n.inputs[1]),
                        n.outputs[0].grad().data<T>(), n.inputs[0].data<T>(), n.inputs[1].data<T>(), d);
      });
    });
  }
  return out;
}

}  // namespace docbert
