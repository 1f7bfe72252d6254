// kernels/gelu_math.h: GELU and its derivative for one element, shared by the CPU op (engine/ops/elementwise.cpp,
// T = float or double) and the CUDA kernels (kernels/elementwise.cu, T = float). Plain C++ and CUDA, like philox.h.
//
//   erf form:   gelu(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
//   tanh form:  gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
#pragma once

#include "kernels/host_device.h"

#include <cmath>

namespace docbert {

namespace gelu_const {
constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2/pi)
constexpr double kInvSqrt2 = 0.7071067811865476;     // 1/sqrt(2), M_SQRT1_2
constexpr double kInvSqrt2Pi = 0.3989422804014327;   // 1/sqrt(2 pi)
constexpr double kCubic = 0.044715;
}  // namespace gelu_const

// std::erf/tanh/exp resolve to erff/tanhf/expf for float, on the host and in CUDA device code.
template <class T>
DOCBERT_HD T gelu_erf(T x) {
  using std::erf;
  return T(0.5) * x * (T(1) + erf(x * static_cast<T>(gelu_const::kInvSqrt2)));
}

template <class T>
DOCBERT_HD T gelu_tanh(T x) {
  using std::tanh;
  return T(0.5) * x *
         (T(1) + tanh(static_cast<T>(gelu_const::kSqrt2OverPi) * (x + static_cast<T>(gelu_const::kCubic) * x * x * x)));
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x)
template <class T>
DOCBERT_HD T gelu_erf_grad(T x) {
  using std::erf;
  using std::exp;
  return T(0.5) * (T(1) + erf(x * static_cast<T>(gelu_const::kInvSqrt2))) +
         x * static_cast<T>(gelu_const::kInvSqrt2Pi) * exp(T(-0.5) * x * x);
}

template <class T>
DOCBERT_HD T gelu_tanh_grad(T x) {
  using std::tanh;
  const T k0 = static_cast<T>(gelu_const::kSqrt2OverPi), c = static_cast<T>(gelu_const::kCubic);
  const T th = tanh(k0 * (x + c * x * x * x));
  return T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * k0 * (T(1) + T(3) * c * x * x);
}

}  // namespace docbert
