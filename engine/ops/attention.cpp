// Self-attention: the CPU implementation over kernels/attention.h's params (one (b, h) pair per task), then the
// autograd wrapper.
#include "engine/ops/attention.h"

#include "engine/autocast.h"
#include "engine/autograd.h"
#include "engine/ops/cast.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/attention.h"
#include "kernels/philox.h"

#include <Eigen/Core>

#include <cmath>
#include <vector>

namespace docbert {

namespace cpu {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// A (rows, cols) block of a wider row-major buffer: one head's slice of qkv, out or their gradients.
template <class T>
using Strided = Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ConstStrided = Eigen::Map<const RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// The (b, h) pairs' sizes and the dropout of kernels/attention.h's params, as the kernels below read them.
struct AttnDims {
  int64_t B, T, C, NH, HS;
  double p;  // effective dropout probability: 0 when not training
  uint64_t seed, offset;

  explicit AttnDims(const AttentionParams& a)
      : B(a.B), T(a.T), C(a.C), NH(a.NH), HS(a.C / a.NH), p(a.dropout_p), seed(a.seed), offset(a.offset) {}

  // parallel_for's grain over the B*NH pairs. Inside a parallel region Eigen's GEMMs run single-threaded, so
  // each pair is computed the same way whatever the thread count. Tiny problems stay serial (a parallel
  // region costs more than they do); their per-pair GEMMs are then far below Eigen's own threading threshold.
  int64_t grain() const { return B * NH * T * T * HS >= (1 << 16) ? 1 : B * NH + 1; }
};

// x (T,T) of pair bh *= keep * scale under the mask convention of engine/ops/dropout.h, and y (T,T) likewise
// unless null: the forward's dropout on P; in backward one mask walk for P and for dL/d(dropped P). Element e
// of the flattened (B,NH,T,T) tensor is lane e % 4 of Philox group e / 4; the groups straddling the pair's
// boundaries skip the lanes outside it.
template <class T>
static void apply_dropout(const AttnDims& d, int64_t bh, T* x, T* y = nullptr) {
  const int64_t n = d.T * d.T, begin = bh * n, end = begin + n;
  const float p = static_cast<float>(d.p);
  const T scale = dropout_scale<T>(static_cast<T>(d.p));
  for (int64_t g = begin / 4; g * 4 < end; ++g) {
    dropout_mask4(d.seed, d.offset, static_cast<uint64_t>(g), p, [&](int lane, bool keep) {
      const int64_t i = 4 * g + lane - begin;
      if (i < 0 || i >= n) return;
      x[i] = keep ? x[i] * scale : T(0);
      if (y) y[i] = keep ? y[i] * scale : T(0);
    });
  }
}

// out (B,T,C); probs (B,NH,T,T) softmax before dropout, or null when backward will not run
// qkv (B,T,3C); mask (B,T) additive over keys, or null
template <class T>
static void forward_pairs(T* out, T* probs, const T* qkv, const T* mask, const AttnDims& d) {
  const int64_t T_ = d.T, C = d.C, HS = d.HS;
  const T scale = static_cast<T>(1 / std::sqrt(static_cast<double>(HS)));
  parallel_for(
      d.B * d.NH,
      [&](int64_t bh) {
        const int64_t b = bh / d.NH, h = bh % d.NH;
        const T* q_ptr = qkv + b * T_ * 3 * C + h * HS;
        ConstStrided<T> q(q_ptr, T_, HS, Eigen::OuterStride<>(3 * C));
        ConstStrided<T> k(q_ptr + C, T_, HS, Eigen::OuterStride<>(3 * C));
        ConstStrided<T> v(q_ptr + 2 * C, T_, HS, Eigen::OuterStride<>(3 * C));
        std::vector<T> scratch(probs ? 0 : static_cast<size_t>(T_ * T_));
        T* pp = probs ? probs + bh * T_ * T_ : scratch.data();
        Eigen::Map<RowMat<T>> p(pp, T_, T_);
        p.noalias() = scale * (q * k.transpose());
        const T* m = mask ? mask + b * T_ : nullptr;
        for (int64_t i = 0; i < T_; ++i) {
          T* row = pp + i * T_;
          if (m)
            for (int64_t j = 0; j < T_; ++j) row[j] += m[j];
          softmax_row(row, row, T_);
        }
        Strided<T> o(out + b * T_ * C + h * HS, T_, HS, Eigen::OuterStride<>(C));
        if (d.p > 0 && probs) {  // P is saved for backward: drop a copy
          RowMat<T> dropped = p;
          apply_dropout(d, bh, dropped.data());
          o.noalias() = dropped * v;
        } else {
          if (d.p > 0) apply_dropout(d, bh, pp);  // nothing keeps P: drop the scratch buffer in place
          o.noalias() = p * v;
        }
      },
      d.grain());
}

// dqkv (B,T,3C) +=; dout (B,T,C); probs (B,NH,T,T) saved by the forward; qkv (B,T,3C)
template <class T>
static void backward_pairs(T* dqkv, const T* dout, const T* probs, const T* qkv, const AttnDims& d) {
  const int64_t T_ = d.T, C = d.C, HS = d.HS;
  const T scale = static_cast<T>(1 / std::sqrt(static_cast<double>(HS)));
  parallel_for(
      d.B * d.NH,
      [&](int64_t bh) {
        const int64_t b = bh / d.NH, h = bh % d.NH;
        const int64_t head = b * T_ * 3 * C + h * HS;
        ConstStrided<T> q(qkv + head, T_, HS, Eigen::OuterStride<>(3 * C));
        ConstStrided<T> k(qkv + head + C, T_, HS, Eigen::OuterStride<>(3 * C));
        ConstStrided<T> v(qkv + head + 2 * C, T_, HS, Eigen::OuterStride<>(3 * C));
        Strided<T> dq(dqkv + head, T_, HS, Eigen::OuterStride<>(3 * C));
        Strided<T> dk(dqkv + head + C, T_, HS, Eigen::OuterStride<>(3 * C));
        Strided<T> dv(dqkv + head + 2 * C, T_, HS, Eigen::OuterStride<>(3 * C));
        ConstStrided<T> dout_h(dout + b * T_ * C + h * HS, T_, HS, Eigen::OuterStride<>(C));
        const T* pp = probs + bh * T_ * T_;
        Eigen::Map<const RowMat<T>> p(pp, T_, T_);
        RowMat<T> dp = dout_h * v.transpose();  // dL/d(dropped P), then dL/dP, then dL/d(scores)
        if (d.p > 0) {
          RowMat<T> dropped = p;
          apply_dropout(d, bh, dropped.data(), dp.data());
          dv.noalias() += dropped.transpose() * dout_h;
        } else {
          dv.noalias() += p.transpose() * dout_h;
        }
        // softmax backward per row: ds_ij = p_ij (dp_ij - sum_k p_ik dp_ik); the mask is a constant shift.
        for (int64_t i = 0; i < T_; ++i) {
          T* drow = dp.data() + i * T_;
          softmax_row_backward(drow, pp + i * T_, drow, T_, false);
        }
        dq.noalias() += scale * (dp * k);
        dk.noalias() += scale * (dp.transpose() * q);
      },
      d.grain());
}

static void attention_forward(const AttentionParams& p) {
  dispatch_float(p.dtype, "self_attention", [&](auto tag) {
    using F = decltype(tag);
    forward_pairs(static_cast<F*>(p.out), static_cast<F*>(p.probs), static_cast<const F*>(p.qkv),
                  static_cast<const F*>(p.mask), AttnDims(p));
  });
}

static void attention_backward(const AttentionParams& p) {
  if (!p.dqkv) return;
  dispatch_float(p.dtype, "self_attention", [&](auto tag) {
    using F = decltype(tag);
    backward_pairs(static_cast<F*>(p.dqkv), static_cast<const F*>(p.dout), static_cast<const F*>(p.probs),
                   static_cast<const F*>(p.qkv), AttnDims(p));
  });
}

}  // namespace cpu

namespace {
constexpr OpImpl<AttentionParams> kAttnFwd{cpu::attention_forward, DOCBERT_CUDA(cuda::attention_forward)};
constexpr OpImpl<AttentionParams> kAttnBwd{cpu::attention_backward, DOCBERT_CUDA(cuda::attention_backward)};
}  // namespace

Tensor self_attention(const Tensor& qkv, const Tensor& mask_add, int64_t num_heads, double dropout_p, uint64_t seed,
                      uint64_t offset, bool training) {
  const char* op = "self_attention";
  check_dim(op, "qkv", qkv, 3);
  const OpTarget at = check_float_operands(op, {{"qkv", qkv}, {"mask_add", mask_add, true}});
  if (autocast_dtype() != DType::F32 && at.device == Device::CUDA && at.dtype == DType::F32) {
    const DType t = autocast_dtype();
    return cast(self_attention(cast(qkv, t), mask_add.defined() ? cast(mask_add, t) : Tensor(), num_heads, dropout_p,
                               seed, offset, training),
                DType::F32);
  }
  DOCBERT_CHECK(num_heads >= 1, "{}: num_heads must be >= 1, got {}", op, num_heads);
  const int64_t B = qkv.size(0), T = qkv.size(1), C3 = qkv.size(2);
  DOCBERT_CHECK(C3 % (3 * num_heads) == 0, "{}: 'qkv' last dim must be 3*C with C a multiple of num_heads={}, got {}",
                op, num_heads, qkv.describe());
  const int64_t C = C3 / 3;
  if (mask_add.defined())
    DOCBERT_CHECK(mask_add.shape() == Shape({B, T}),
                  "{}: mask shape mismatch: 'mask_add' is {} but 'qkv' {} needs ({},{})", op,
                  shape_str(mask_add.shape()), shape_str(qkv.shape()), B, T);
  DOCBERT_CHECK(dropout_p >= 0 && dropout_p < 1, "{}: dropout_p must be in [0, 1), got {}", op, dropout_p);

  const bool record = grad_needed({&qkv});
  Tensor out = Tensor::empty({B, T, C}, at.dtype, at.device);
  Tensor probs = record ? Tensor::empty({B, num_heads, T, T}, at.dtype, at.device) : Tensor();
  AttentionParams p;
  p.dtype = at.dtype;
  p.B = B;
  p.T = T;
  p.C = C;
  p.NH = num_heads;
  p.dropout_p = training ? dropout_p : 0.0;
  p.seed = seed;
  p.offset = offset;
  p.out = out.raw_data();
  p.probs = record ? probs.raw_data() : nullptr;
  p.qkv = qkv.raw_data();
  p.mask = ptr_or_null(mask_add);
  kAttnFwd(op, at.device, p);
  if (record) {
    // The mask is not an input of the node: it gets no gradient, and probs already contains its effect.
    p.mask = nullptr;
    record_node(op, {qkv}, {out}, [p, at, op, probs](Node& n) mutable {
      p.probs = probs.raw_data();  // the saved tensor, kept alive by this closure
      p.dqkv = grad_ptr_or_null(n.inputs[0]);
      p.dout = n.outputs[0].grad().raw_data();
      kAttnBwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace docbert
