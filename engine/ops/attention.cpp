// Self-attention: forward/backward kernels over raw pointers, one (b, h) pair per task, then the autograd wrapper.
#include "engine/ops/attention.h"

#include "engine/autograd.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/philox.h"

#include <Eigen/Core>

#include <cmath>
#include <vector>

namespace docbert {

namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// A (rows, cols) block of a wider row-major buffer: one head's slice of qkv, out or their gradients.
template <class T>
using Strided = Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ConstStrided = Eigen::Map<const RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

struct AttnDims {
  int64_t B, T, C, NH, HS;
  double p;  // effective dropout probability: 0 when not training
  uint64_t seed, offset;

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
void apply_dropout(const AttnDims& d, int64_t bh, T* x, T* y = nullptr) {
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
void attention_forward(T* out, T* probs, const T* qkv, const T* mask, const AttnDims& d) {
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
void attention_backward(T* dqkv, const T* dout, const T* probs, const T* qkv, const AttnDims& d) {
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

}  // namespace

Tensor self_attention(const Tensor& qkv, const Tensor& mask_add, int64_t num_heads, double dropout_p, uint64_t seed,
                      uint64_t offset, bool training) {
  const char* op = "self_attention";
  check_dim(op, "qkv", qkv, 3);
  check_float(op, "qkv", qkv);
  check_cpu(op, qkv);
  DOCBERT_CHECK(num_heads >= 1, "{}: num_heads must be >= 1, got {}", op, num_heads);
  const int64_t B = qkv.size(0), T = qkv.size(1), C3 = qkv.size(2);
  DOCBERT_CHECK(C3 % (3 * num_heads) == 0, "{}: 'qkv' last dim must be 3*C with C a multiple of num_heads={}, got {}",
                op, num_heads, qkv.describe());
  const int64_t C = C3 / 3;
  if (mask_add.defined()) {
    check_same_dtype(op, "mask_add", mask_add, "qkv", qkv);
    check_cpu(op, mask_add);
    DOCBERT_CHECK(mask_add.shape() == Shape({B, T}),
                  "{}: mask shape mismatch: 'mask_add' is {} but 'qkv' {} needs ({},{})", op,
                  shape_str(mask_add.shape()), shape_str(qkv.shape()), B, T);
  }
  DOCBERT_CHECK(dropout_p >= 0 && dropout_p < 1, "{}: dropout_p must be in [0, 1), got {}", op, dropout_p);
  const AttnDims d{B, T, C, num_heads, C / num_heads, training ? dropout_p : 0.0, seed, offset};

  const bool record = grad_needed({&qkv});
  Tensor out = Tensor::empty({B, T, C}, qkv.dtype());
  Tensor probs = record ? Tensor::empty({B, num_heads, T, T}, qkv.dtype()) : Tensor();
  dispatch_float(qkv.dtype(), op, [&](auto tag) {
    using F = decltype(tag);
    attention_forward(out.data<F>(), record ? probs.data<F>() : nullptr, qkv.data<F>(), data_or_null<F>(mask_add), d);
  });
  if (record) {
    // The mask is not an input of the node: it gets no gradient, and probs already contains its effect.
    record_node(op, {qkv}, {out}, [d, probs](Node& n) {
      Tensor& x = n.inputs[0];  // the node's only input, recorded because it requires grad
      dispatch_float(x.dtype(), "self_attention", [&](auto tag) {
        using F = decltype(tag);
        attention_backward(x.grad_buffer().template data<F>(), n.outputs[0].grad().template data<F>(), probs.data<F>(),
                           x.data<F>(), d);
      });
    });
  }
  return out;
}

}  // namespace docbert
