// Embedding lookup: gather/scatter-add kernels over N tokens of C channels, then the autograd wrapper.
#include "engine/ops/embedding.h"

#include "engine/autograd.h"
#include "engine/parallel.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace docbert {

// out (N,C) = table[ids] with ids (N) already validated; table (V,C)
template <class T>
static void embedding_forward(T* out, const std::vector<int64_t>& ids, const T* table, int64_t C) {
  const int64_t N = static_cast<int64_t>(ids.size());
  parallel_for(
      N, [&](int64_t n) { std::copy(table + ids[n] * C, table + (ids[n] + 1) * C, out + n * C); }, 64);
}

// dtable (V,C) += scatter of dout (N,C) by ids (N). Parallel over column blocks, serial over tokens.
template <class T>
static void embedding_backward(T* dtable, const std::vector<int64_t>& ids, const T* dout, int64_t C) {
  const int64_t N = static_cast<int64_t>(ids.size());
  constexpr int64_t CB = 64;
  parallel_for((C + CB - 1) / CB,
               [&](int64_t blk) {
                 const int64_t c0 = blk * CB, c1 = std::min(C, c0 + CB);
                 for (int64_t n = 0; n < N; ++n) {
                   T* row = dtable + ids[n] * C;
                   const T* d = dout + n * C;
                   for (int64_t c = c0; c < c1; ++c) row[c] += d[c];
                 }
               },
               2);
}

Tensor embedding(const Tensor& ids, const Tensor& table) {
  const char* op = "embedding";
  check_index(op, "ids", ids);
  check_float(op, "table", table);
  check_dim(op, "table", table, 2);
  check_cpu(op, table);
  const int64_t V = table.size(0), C = table.size(1);
  std::vector<int64_t> idx = read_indices(op, "ids", ids, 0, V);
  Shape out_shape = ids.shape();
  out_shape.push_back(C);
  Tensor out = Tensor::empty(out_shape, table.dtype());
  dispatch_float(table.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    embedding_forward(out.data<T>(), idx, table.data<T>(), C);
  });
  if (grad_needed({&table})) {
    record_node(op, {table}, {out}, [idx = std::move(idx), C](Node& n) {
      dispatch_float(n.outputs[0].dtype(), "embedding", [&](auto tag) {
        using T = decltype(tag);
        embedding_backward(n.inputs[0].grad_buffer().template data<T>(), idx, n.outputs[0].grad().data<T>(), C);
      });
    });
  }
  return out;
}

}  // namespace docbert
