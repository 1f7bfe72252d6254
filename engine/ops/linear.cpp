// Dense layers and batched GEMMs: the CPU implementations over kernels/gemm.h's params (an Eigen GEMM over raw
// row-major buffers), then the autograd wrappers.
#include "engine/ops/linear.h"

#include "engine/autocast.h"
#include "engine/autograd.h"
#include "engine/ops/cast.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/gemm.h"

#include <Eigen/Core>

#include <algorithm>

namespace docbert {

namespace cpu {

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
// linear

// out (R,OUT) = x (R,IN) w^T + bias; w (OUT,IN), bias (OUT) or null.
static void linear_forward(const LinearParams& p) {
  dispatch_float(p.dtype, "linear", [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(p.out);
    const T *x = static_cast<const T*>(p.x), *w = static_cast<const T*>(p.w), *bias = static_cast<const T*>(p.bias);
    if (bias)
      parallel_for(
          p.R, [&](int64_t r) { std::copy(bias, bias + p.OUT, out + r * p.OUT); }, 64);
    gemm(out, x, w, p.R, p.OUT, p.IN, false, true, bias != nullptr);
  });
}

// dx (R,IN) += dout w; dw (OUT,IN) += dout^T x; dbias (OUT) += column sums of dout (R,OUT). Null grads are skipped.
static void linear_backward(const LinearParams& p) {
  dispatch_float(p.dtype, "linear", [&](auto tag) {
    using T = decltype(tag);
    T *dx = static_cast<T*>(p.dx), *dw = static_cast<T*>(p.dw), *dbias = static_cast<T*>(p.dbias);
    const T *dout = static_cast<const T*>(p.dout), *x = static_cast<const T*>(p.x), *w = static_cast<const T*>(p.w);
    if (dx) gemm(dx, dout, w, p.R, p.IN, p.OUT, false, false, true);
    if (dw) gemm(dw, dout, x, p.OUT, p.IN, p.R, true, false, true);
    if (dbias) column_sums_into(dbias, dout, p.R, p.OUT);
  });
}

// ---------------------------------------------------------------------------------------------------
// batched matmul: `batch` independent products, or one shared b

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
static void matmul_forward(const MatmulParams& d) {
  dispatch_float(d.dtype, "matmul", [&](auto tag) {
    using T = decltype(tag);
    T* c = static_cast<T*>(d.c);
    const T *a = static_cast<const T*>(d.a), *b = static_cast<const T*>(d.b);
    const int64_t b_stride = d.shared_b ? 0 : d.K * d.N;
    for_each_batch(d.batch, [&](int64_t i) {
      gemm(c + i * d.M * d.N, a + i * d.M * d.K, b + i * b_stride, d.M, d.N, d.K, d.ta, d.tb, false);
    });
  });
}

// da += dc op(b)^T (or its transpose), db += op(a)^T dc (or its transpose), per batch element; null grads skipped.
// A shared b sums its gradient over the batch, serially in batch order so the result is deterministic.
static void matmul_backward(const MatmulParams& d) {
  dispatch_float(d.dtype, "matmul", [&](auto tag) {
    using T = decltype(tag);
    T *da = static_cast<T*>(d.da), *db = static_cast<T*>(d.db);
    const T *dc = static_cast<const T*>(d.dc), *a = static_cast<const T*>(d.a), *b = static_cast<const T*>(d.b);
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
  });
}

}  // namespace cpu

namespace {
constexpr OpImpl<LinearParams> kLinearFwd{cpu::linear_forward, DOCBERT_CUDA(cuda::linear_forward)};
constexpr OpImpl<LinearParams> kLinearBwd{cpu::linear_backward, DOCBERT_CUDA(cuda::linear_backward)};
constexpr OpImpl<MatmulParams> kMatmulFwd{cpu::matmul_forward, DOCBERT_CUDA(cuda::matmul_forward)};
constexpr OpImpl<MatmulParams> kMatmulBwd{cpu::matmul_backward, DOCBERT_CUDA(cuda::matmul_backward)};
}  // namespace

// ---------------------------------------------------------------------------------------------------
// autograd wrappers

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "linear";
  check_dim(op, "weight", weight, 2);
  const OpTarget at = check_float_operands(op, {{"x", x}, {"weight", weight}, {"bias", bias, true}});
  if (autocast_dtype() != DType::F32 && at.device == Device::CUDA && at.dtype == DType::F32) {
    const DType t = autocast_dtype();
    return cast(linear(cast(x, t), cast(weight, t), bias.defined() ? cast(bias, t) : Tensor()), DType::F32);
  }
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
  Tensor out = Tensor::empty(out_shape, at.dtype, at.device);
  LinearParams p;
  p.dtype = at.dtype;
  p.R = R;
  p.IN = IN;
  p.OUT = OUT;
  p.out = out.raw_data();
  p.x = x.raw_data();
  p.w = weight.raw_data();
  p.bias = ptr_or_null(bias);
  kLinearFwd(op, at.device, p);
  if (grad_needed({&x, &weight, &bias})) {
    record_node(op, {x, weight, bias}, {out}, [p, at, op](Node& n) mutable {
      p.dx = grad_ptr_or_null(n.inputs[0]);
      p.dw = grad_ptr_or_null(n.inputs[1]);
      p.dbias = grad_ptr_or_null(n.inputs[2]);
      p.dout = n.outputs[0].grad().raw_data();
      kLinearBwd(op, at.device, p);
    });
  }
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  const char* op = "matmul";
  const OpTarget at = check_float_operands(op, {{"a", a}, {"b", b}});
  DOCBERT_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: 'a' {} and 'b' {} must have at least 2 dims",
                shape_str(a.shape()), shape_str(b.shape()));
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  MatmulParams p;
  p.dtype = at.dtype;
  p.ta = trans_a;
  p.tb = trans_b;
  p.shared_b = b.dim() == 2 && a.dim() > 2;
  DOCBERT_CHECK(p.shared_b || a_batch == b_batch,
                "matmul: shape mismatch: batch dims of 'a' {} and 'b' {} differ (b must match them or be 2-D)",
                shape_str(a.shape()), shape_str(b.shape()));
  p.batch = shape_numel(a_batch);
  p.M = a.size(trans_a ? -1 : -2);
  p.K = a.size(trans_a ? -2 : -1);
  p.N = b.size(trans_b ? -2 : -1);
  const int64_t Kb = b.size(trans_b ? -1 : -2);
  DOCBERT_CHECK(p.K == Kb, "matmul: shape mismatch: inner dims differ: 'a' {}{} gives K={} but 'b' {}{} gives K={}",
                shape_str(a.shape()), trans_a ? " (transposed)" : "", p.K, shape_str(b.shape()),
                trans_b ? " (transposed)" : "", Kb);
  Shape out_shape = a_batch;
  out_shape.push_back(p.M);
  out_shape.push_back(p.N);
  if (p.shared_b && !p.ta) {  // (batch*M, K) rows against one b: a single, larger GEMM
    p.M *= p.batch;
    p.batch = 1;
  }
  Tensor out = Tensor::empty(out_shape, at.dtype, at.device);
  p.c = out.raw_data();
  p.a = a.raw_data();
  p.b = b.raw_data();
  kMatmulFwd(op, at.device, p);
  if (grad_needed({&a, &b})) {
    record_node(op, {a, b}, {out}, [p, at, op](Node& n) mutable {
      p.da = grad_ptr_or_null(n.inputs[0]);
      p.db = grad_ptr_or_null(n.inputs[1]);
      p.dc = n.outputs[0].grad().raw_data();
      kMatmulBwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace docbert
