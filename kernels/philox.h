// kernels/philox.h: the counter-based RNG shared by the CPU and GPU paths.
//
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a 64-bit key
// (the run's seed) and a 128-bit counter give four independent 32-bit words. Nothing is stateful, so
// element i of any random tensor is a pure function of (seed, offset, i) and a CPU loop and a GPU kernel
// produce bit-identical dropout masks for the same key. This header compiles as plain C++ and as CUDA.
//
// Convention used by every consumer (dropout, init): the random word for element i is lane i % 4 of
// philox4x32(seed, counter = offset + i / 4); a stream advances its offset by ceil(n / 4) per n values.
#pragma once

#include "kernels/host_device.h"

#include <cstdint>

namespace docbert {

struct Philox4 {
  uint32_t v[4];
};

DOCBERT_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Ten rounds of Philox4x32 on counter (c0..c3) with key (k0,k1).
DOCBERT_HD Philox4 philox4x32(uint64_t seed, uint64_t counter_lo, uint64_t counter_hi = 0) {
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The 32-bit random word of element i of a stream at `offset`.
DOCBERT_HD uint32_t philox_word(uint64_t seed, uint64_t offset, uint64_t i) {
  return philox4x32(seed, offset + i / 4).v[i % 4];
}

// A random word as a uniform in [0, 1) with 24 random bits (exactly representable in f32, identical on CPU
// and GPU).
DOCBERT_HD float philox_to_uniform(uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }

DOCBERT_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  return philox_to_uniform(philox_word(seed, offset, i));
}

// Number of counter values a stream consumes for n random words.
DOCBERT_HD uint64_t philox_advance(uint64_t n) { return (n + 3) / 4; }

// The uniforms of elements 4g .. 4g+3 of a stream at `offset` are the four lanes of counter offset + g: one
// philox4x32 evaluation serves the group (compilers do not merge four philox_uniform calls into one).
DOCBERT_HD void philox_uniform4(uint64_t seed, uint64_t counter, float u[4]) {
  const Philox4 w = philox4x32(seed, counter);
  for (int lane = 0; lane < 4; ++lane) u[lane] = philox_to_uniform(w.v[lane]);
}

// The dropout mask convention, written once for the CPU ops (dropout, attention) and the CUDA kernel: element i
// of a stream at `offset` is kept iff philox_uniform(seed, offset, i) >= p. Calls f(lane, keep) for the four
// elements 4g + lane of group g, lane = 0..3; the caller skips lanes outside its range.
template <class F>
DOCBERT_HD void dropout_mask4(uint64_t seed, uint64_t offset, uint64_t g, float p, F&& f) {
  float u[4];
  philox_uniform4(seed, offset + g, u);
  for (int lane = 0; lane < 4; ++lane) f(lane, u[lane] >= p);
}

// The factor 1 / (1 - p) that kept elements are multiplied by, computed in the op's type T.
template <class T>
DOCBERT_HD T dropout_scale(T p) {
  return T(1) / (T(1) - p);
}

}  // namespace docbert
