// kernels/launch.h: launch configuration shared by the launchers in kernels/*.cu (host code).
#pragma once

#include "base/error.h"

#include <cstdint>

namespace docbert {

// Blocks of `block` threads for a 1-D grid with one thread per work item: ceil(items / block), computed
// without the overflow of (items + block - 1) near INT64_MAX. Throws naming `op` when items < 0 (for launchers
// whose work items are their N elements; others check N first) or when more than 2^31 - 1 blocks, the limit of
// gridDim.x, would be needed. 0 items give 0 blocks: the launcher then launches nothing.
inline unsigned grid_1d(const char* op, int64_t items, int block) {
  DOCBERT_CHECK(items >= 0, "{}: N must be >= 0, got {}", op, items);
  const int64_t blocks = items / block + (items % block != 0);
  DOCBERT_CHECK(blocks <= 0x7fffffff, "{}: too large for one launch: {} threads need {} blocks of {} (at most {})", op,
                items, blocks, block, 0x7fffffff);
  return static_cast<unsigned>(blocks);
}

}  // namespace docbert
