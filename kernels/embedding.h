// kernels/embedding.h: embedding lookup, params and CUDA launchers (plain C++; the CPU implementation is
// engine/ops/embedding.cpp, the op is documented in engine/ops/embedding.h).
//
// Dimension letters: N tokens (ids flattened), V table rows, C channels; U distinct ids among the N. Pointers are
// contiguous, on the op's device; table, out, dtable and dout in `dtype` (CPU: f32/f64; CUDA: f32/bf16). Ids are
// validated on the host before any launch (checked_indices). The backward accumulates (+=) and is deterministic:
// each table row adds its tokens' gradient rows in token order, on both devices.
#pragma once

#include "base/dtype.h"

#include <cstdint>

namespace docbert {

struct EmbeddingParams {
  DType dtype = DType::F32;
  int64_t N = 0, V = 0, C = 0;
  const int64_t* ids = nullptr;  // (N) each in [0, V)
  const void* table = nullptr;   // (V,C)
  void* out = nullptr;           // (N,C) forward: out[n] = table[ids[n]]
  void* dtable = nullptr;        // (V,C) backward: dtable[ids[n]] += dout[n] for every n
  const void* dout = nullptr;    // (N,C)
  // The CUDA backward's token lists (the CPU's reads ids), built on the host from the checked ids: for the u-th
  // distinct id rows[u] (ascending), its tokens are tokens[starts[u] .. starts[u + 1]), ascending.
  int64_t U = 0;
  const int64_t* rows = nullptr;    // (U)
  const int64_t* starts = nullptr;  // (U + 1) starts[0] = 0, starts[U] = N
  const int64_t* tokens = nullptr;  // (N) a permutation of [0, N) grouped by id
};

namespace cuda {
void embedding_forward(const EmbeddingParams& p);
void embedding_backward(const EmbeddingParams& p);
}  // namespace cuda

}  // namespace docbert
