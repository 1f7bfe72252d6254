#include "engine/random.h"

#include "kernels/philox.h"

#include <cmath>

namespace docbert {

uint64_t RngStream::take(uint64_t n) {
  uint64_t o = offset;
  offset += philox_advance(n);
  return o;
}

void uniform_fill(Tensor& t, double lo, double hi, RngStream& rng) {
  check_float("uniform_fill", "t", t);
  check_cpu("uniform_fill", t);
  const uint64_t off = rng.take(static_cast<uint64_t>(t.numel()));
  dispatch_float(t.dtype(), "uniform_fill", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i)
      p[i] = static_cast<T>(lo + (hi - lo) * philox_uniform(rng.seed, off, static_cast<uint64_t>(i)));
  });
}

void normal_fill(Tensor& t, double mean, double stddev, RngStream& rng) {
  check_float("normal_fill", "t", t);
  check_cpu("normal_fill", t);
  const uint64_t n = static_cast<uint64_t>(t.numel());
  const uint64_t off = rng.take(2 * n);
  dispatch_float(t.dtype(), "normal_fill", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (uint64_t i = 0; i < n; ++i) {
      // u1 in (0,1] so log() is finite.
      double u1 = 1.0 - philox_uniform(rng.seed, off, 2 * i);
      double u2 = philox_uniform(rng.seed, off, 2 * i + 1);
      p[i] = static_cast<T>(mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
    }
  });
}

}  // namespace docbert
