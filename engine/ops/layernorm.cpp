// LayerNorm over the last dimension: the CPU implementation over kernels/layernorm.h's params, then the wrapper.
#include "engine/ops/layernorm.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/layernorm.h"

#include <cmath>

namespace docbert {

namespace cpu {

// out (N,C), mean (N), rstd (N) from x (N,C), gamma (C), beta (C). Two passes over each row (mean, then the
// centred variance) stay accurate when |mean| >> std, unlike E[x^2] - E[x]^2; the row sums are in f64 even for
// f32 data: an f32 sum of 768 values of ~100 is off by ~1e-4 of the row's std, and every output with it.
static void layernorm_forward(const LayerNormParams& p) {
  dispatch_float(p.dtype, "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T *x = static_cast<const T*>(p.x), *gamma = static_cast<const T*>(p.gamma),
            *beta = static_cast<const T*>(p.beta);
    T *out = static_cast<T*>(p.out), *mean = static_cast<T*>(p.mean), *rstd = static_cast<T*>(p.rstd);
    const int64_t C = p.C;
    parallel_for(
        p.N,
        [&](int64_t r) {
          const T* xr = x + r * C;
          double sum = 0;
          for (int64_t c = 0; c < C; ++c) sum += xr[c];
          const double m = sum / static_cast<double>(C);
          double sq = 0;
          for (int64_t c = 0; c < C; ++c) sq += (xr[c] - m) * (xr[c] - m);
          const T mt = static_cast<T>(m), s = static_cast<T>(1 / std::sqrt(sq / static_cast<double>(C) + p.eps));
          T* o = out + r * C;
          for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - mt) * s * gamma[c] + beta[c];
          mean[r] = mt;
          rstd[r] = s;
        },
        16);
  });
}

// dx (N,C) += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) with dnorm = gamma * dout, per row;
// dgamma (C) += sum_rows norm * dout; dbeta (C) += sum_rows dout. Null grads are skipped.
static void layernorm_backward(const LayerNormParams& p) {
  dispatch_float(p.dtype, "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T *x = static_cast<const T*>(p.x), *gamma = static_cast<const T*>(p.gamma),
            *dout = static_cast<const T*>(p.dout), *mean = static_cast<const T*>(p.mean),
            *rstd = static_cast<const T*>(p.rstd);
    const int64_t C = p.C;
    if (T* dx = static_cast<T*>(p.dx)) {
      parallel_for(
          p.N,
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
    if (T* dgamma = static_cast<T*>(p.dgamma))
      column_sums_into(dgamma, p.N, C,
                       [&](int64_t r, int64_t c) { return (x[r * C + c] - mean[r]) * rstd[r] * dout[r * C + c]; });
    if (T* dbeta = static_cast<T*>(p.dbeta)) column_sums_into(dbeta, dout, p.N, C);
  });
}

}  // namespace cpu

namespace {
constexpr OpImpl<LayerNormParams> kFwd{cpu::layernorm_forward, DOCBERT_CUDA(cuda::layernorm_forward)};
constexpr OpImpl<LayerNormParams> kBwd{cpu::layernorm_backward, DOCBERT_CUDA(cuda::layernorm_backward)};
}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "layer_norm";
  const OpTarget at = check_float_operands(op, {{"x", x}, {"gamma", gamma}, {"beta", beta}});
  DOCBERT_CHECK(x.dim() >= 1, "layer_norm: 'x' {} must have at least one dim", x.describe());
  const int64_t C = x.size(-1), N = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  DOCBERT_CHECK(gamma.shape() == Shape{C} && beta.shape() == Shape{C},
                "layer_norm: shape mismatch: 'gamma' {} and 'beta' {} must be (C) for 'x' {}", shape_str(gamma.shape()),
                shape_str(beta.shape()), shape_str(x.shape()));
  // eps > 0 keeps rstd finite for a constant row (variance 0).
  DOCBERT_CHECK(eps > 0, "layer_norm: eps must be > 0, got {}", eps);
  // The statistics: the data dtype on the CPU (f64 in the gradient checks), f32 on CUDA (bf16 data included).
  const DType stats = at.device == Device::CPU ? at.dtype : DType::F32;
  Tensor out = Tensor::empty(x.shape(), at.dtype, at.device);
  Tensor mean = Tensor::empty({N}, stats, at.device), rstd = Tensor::empty({N}, stats, at.device);
  LayerNormParams p;
  p.dtype = at.dtype;
  p.N = N;
  p.C = C;
  p.eps = eps;
  p.out = out.raw_data();
  p.mean = mean.raw_data();
  p.rstd = rstd.raw_data();
  p.x = x.raw_data();
  p.gamma = gamma.raw_data();
  p.beta = beta.raw_data();
  kFwd(op, at.device, p);
  if (grad_needed({&x, &gamma, &beta})) {
    record_node(op, {x, gamma, beta}, {out}, [p, at, op, mean, rstd](Node& n) mutable {
      p.dx = grad_ptr_or_null(n.inputs[0]);
      p.dgamma = grad_ptr_or_null(n.inputs[1]);
      p.dbeta = grad_ptr_or_null(n.inputs[2]);
      p.dout = n.outputs[0].grad().raw_data();
      kBwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace docbert
