// LayerNorm over the last dimension: forward/backward kernels over raw pointers (R rows of C), then the wrapper.
#include "engine/ops/layernorm.h"

#include "engine/autograd.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"

#include <cmath>

namespace docbert {

// out (R,C), mean (R), rstd (R) from x (R,C), gamma (C), beta (C). Two passes over each row (mean, then the
// centred variance) stay accurate when |mean| >> std, unlike E[x^2] - E[x]^2; the row sums are in f64 even for
// f32 data: an f32 sum of 768 values of ~100 is off by ~1e-4 of the row's std, and every output with it.
template <class T>
static void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* gamma, const T* beta, int64_t R, int64_t C,
                              double eps) {
  parallel_for(
      R,
      [&](int64_t r) {
        const T* xr = x + r * C;
        double sum = 0;
        for (int64_t c = 0; c < C; ++c) sum += xr[c];
        const double m = sum / static_cast<double>(C);
        double sq = 0;
        for (int64_t c = 0; c < C; ++c) sq += (xr[c] - m) * (xr[c] - m);
        const T mt = static_cast<T>(m), s = static_cast<T>(1 / std::sqrt(sq / static_cast<double>(C) + eps));
        T* o = out + r * C;
        for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - mt) * s * gamma[c] + beta[c];
        mean[r] = mt;
        rstd[r] = s;
      },
      16);
}

// dx (R,C) += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) with dnorm = gamma * dout, per row;
// dgamma (C) += sum_rows norm * dout; dbeta (C) += sum_rows dout. Null grads are skipped.
template <class T>
static void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dout, const T* x, const T* mean, const T* rstd,
                               const T* gamma, int64_t R, int64_t C) {
  if (dx) {
    parallel_for(
        R,
        [&](int64_t r) {
          const T *xr = x + r * C, *dr = dout + r * C;
          const T m = mean[r], s = rstd[r];
          T dnorm_mean = 0, dnorm_norm_mean = 0;
          for (int64_t c = 0; c < C; ++c) {
            const T dnorm = gamma[c] * dr[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * (xr[c] - m) * s;
          }
          dnorm_mean /= static_cast<T>(C);
          dnorm_norm_mean /= static_cast<T>(C);
          T* dxr = dx + r * C;
          for (int64_t c = 0; c < C; ++c)
            dxr[c] += (gamma[c] * dr[c] - dnorm_mean - (xr[c] - m) * s * dnorm_norm_mean) * s;
        },
        16);
  }
  if (dgamma)
    column_sums_into(dgamma, R, C,
                     [&](int64_t r, int64_t c) { return (x[r * C + c] - mean[r]) * rstd[r] * dout[r * C + c]; });
  if (dbeta) column_sums_into(dbeta, dout, R, C);
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "layer_norm";
  check_float_operands(op, {{"x", x}, {"gamma", gamma}, {"beta", beta}});
  DOCBERT_CHECK(x.dim() >= 1, "layer_norm: 'x' {} must have at least one dim", x.describe());
  const int64_t C = x.size(-1), R = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  DOCBERT_CHECK(gamma.shape() == Shape{C} && beta.shape() == Shape{C},
                "layer_norm: shape mismatch: 'gamma' {} and 'beta' {} must be (C) for 'x' {}", shape_str(gamma.shape()),
                shape_str(beta.shape()), shape_str(x.shape()));
  // eps > 0 keeps rstd finite for a constant row (variance 0).
  DOCBERT_CHECK(eps > 0, "layer_norm: eps must be > 0, got {}", eps);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor mean = Tensor::empty({R}, x.dtype()), rstd = Tensor::empty({R}, x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    layernorm_forward(out.data<T>(), mean.data<T>(), rstd.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(), R, C,
                      eps);
  });
  if (grad_needed({&x, &gamma, &beta})) {
    record_node(op, {x, gamma, beta}, {out}, [mean, rstd, R, C](Node& n) {
      dispatch_float(n.outputs[0].dtype(), "layer_norm", [&](auto tag) {
        using T = decltype(tag);
        layernorm_backward(grad_data_or_null<T>(n.inputs[0]), grad_data_or_null<T>(n.inputs[1]),
                           grad_data_or_null<T>(n.inputs[2]), n.outputs[0].grad().data<T>(), n.inputs[0].data<T>(),
                           mean.data<T>(), rstd.data<T>(), n.inputs[1].data<T>(), R, C);
      });
    });
  }
  return out;
}

}  // namespace docbert
