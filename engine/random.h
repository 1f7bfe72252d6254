// engine/random.h: seeded random streams and parameter initialisers (CPU), built on kernels/philox.h.
//
// One --seed drives everything. A RngStream hands out disjoint Philox offsets, so each consumer (the init
// of one tensor, one dropout call) gets its own reproducible slice: draw k from a stream at offset o
// always yields the same numbers, on the CPU and on the GPU.
#pragma once

#include "engine/tensor.h"
#include "kernels/philox.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace docbert {

struct RngStream {
  uint64_t seed = 0;
  uint64_t offset = 0;
  // Reserves counters for n random words and returns the offset to use for them.
  uint64_t take(uint64_t n);
};

// Fills a CPU f32/f64 tensor in place. Element i uses word(s) derived from (seed, offset, i).
void uniform_fill(Tensor& t, double lo, double hi, RngStream& rng);
// Normal via Box-Muller on two uniforms per element (BERT's init is N(0, 0.02)).
void normal_fill(Tensor& t, double mean, double stddev, RngStream& rng);

// Fisher-Yates shuffle of `v` keyed by (seed, offset): the same key always gives the same permutation, so a
// data order can be rebuilt from (seed, epoch) instead of being stored. Uses words offset .. offset+ceil(n/4).
template <class I>
void seeded_shuffle(std::vector<I>& v, uint64_t seed, uint64_t offset) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[philox_word(seed, offset, static_cast<uint64_t>(i - 1)) % static_cast<uint64_t>(i)]);
}

}  // namespace docbert
