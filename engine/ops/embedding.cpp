// Embedding lookup: the CPU implementation over kernels/embedding.h's params, then the autograd wrapper.
#include "engine/ops/embedding.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/parallel.h"
#include "kernels/embedding.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace docbert {

namespace cpu {

// out (N,C) = table[ids] with ids (N) already validated; table (V,C)
static void embedding_forward(const EmbeddingParams& p) {
  dispatch_float(p.dtype, "embedding", [&](auto tag) {
    using T = decltype(tag);
    const T* table = static_cast<const T*>(p.table);
    T* out = static_cast<T*>(p.out);
    const int64_t* ids = p.ids;
    const int64_t C = p.C;
    parallel_for(
        p.N, [&](int64_t n) { std::copy(table + ids[n] * C, table + (ids[n] + 1) * C, out + n * C); }, 64);
  });
}

// dtable (V,C) += scatter of dout (N,C) by ids (N). Parallel over column blocks, serial over tokens.
static void embedding_backward(const EmbeddingParams& p) {
  if (!p.dtable) return;
  dispatch_float(p.dtype, "embedding", [&](auto tag) {
    using T = decltype(tag);
    T* dtable = static_cast<T*>(p.dtable);
    const T* dout = static_cast<const T*>(p.dout);
    const int64_t* ids = p.ids;
    const int64_t N = p.N, C = p.C;
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
  });
}

}  // namespace cpu

namespace {

constexpr OpImpl<EmbeddingParams> kFwd{cpu::embedding_forward, DOCBERT_CUDA(cuda::embedding_forward)};
constexpr OpImpl<EmbeddingParams> kBwd{cpu::embedding_backward, DOCBERT_CUDA(cuda::embedding_backward)};

// The CUDA backward's token lists (kernels/embedding.h) for the checked host ids (N), uploaded to `device` as one i64
// tensor [rows (U) | starts (U + 1) | tokens (N)], and their pointers set in p. A stable sort of the token
// positions by id keeps each id's tokens ascending, the order the CPU backward adds them in. Built on the host,
// where the ids were just checked: the device needs no sort and the scatter-add needs no atomics.
Tensor token_lists(const Tensor& host_ids, Device device, EmbeddingParams& p) {
  const int64_t* ids = host_ids.data<int64_t>();
  std::vector<int64_t> tokens(static_cast<size_t>(p.N));
  std::iota(tokens.begin(), tokens.end(), int64_t{0});
  std::stable_sort(tokens.begin(), tokens.end(), [ids](int64_t a, int64_t b) { return ids[a] < ids[b]; });
  std::vector<int64_t> rows, starts;
  for (int64_t i = 0; i < p.N; ++i) {
    if (i > 0 && ids[tokens[i]] == ids[tokens[i - 1]]) continue;
    rows.push_back(ids[tokens[i]]);
    starts.push_back(i);
  }
  starts.push_back(p.N);
  std::vector<int64_t> packed = rows;
  packed.insert(packed.end(), starts.begin(), starts.end());
  packed.insert(packed.end(), tokens.begin(), tokens.end());
  const Tensor lists = Tensor::from_vector(packed, {static_cast<int64_t>(packed.size())}).to(device);
  const auto* base = static_cast<const int64_t*>(lists.raw_data());
  p.U = static_cast<int64_t>(rows.size());
  p.rows = base;
  p.starts = base + p.U;
  p.tokens = base + 2 * p.U + 1;
  return lists;
}

}  // namespace

Tensor embedding(const Tensor& ids, const Tensor& table) {
  const char* op = "embedding";
  check_index(op, "ids", ids);
  const OpTarget at = check_float_operands(op, {{"table", table}});
  check_dim(op, "table", table, 2);
  const int64_t V = table.size(0), C = table.size(1);
  // Checked on the host and kept there too: the CUDA backward's token lists are built from the host copy.
  const Tensor host_ids = checked_indices(op, "ids", ids, 0, V, Device::CPU);
  const Tensor idx = at.device == Device::CPU ? host_ids : host_ids.to(at.device);
  Shape out_shape = ids.shape();
  out_shape.push_back(C);
  Tensor out = Tensor::empty(out_shape, at.dtype, at.device);
  EmbeddingParams p;
  p.dtype = at.dtype;
  p.N = ids.numel();
  p.V = V;
  p.C = C;
  p.ids = static_cast<const int64_t*>(idx.raw_data());
  p.table = table.raw_data();
  p.out = out.raw_data();
  kFwd(op, at.device, p);
  if (grad_needed({&table})) {
    const Tensor lists = at.device == Device::CPU ? Tensor() : token_lists(host_ids, at.device, p);
    record_node(op, {table}, {out}, [p, at, op, idx, lists](Node& n) mutable {
      p.dtable = grad_ptr_or_null(n.inputs[0]);
      p.dout = n.outputs[0].grad().raw_data();
      kBwd(op, at.device, p);
    });
  }
  return out;
}

}  // namespace docbert
