#include "train/data/batching.h"

#include "base/error.h"
#include "engine/random.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace docbert::data {

namespace {

// Philox counters of shuffle `stage` (0: documents, 1: batch order) of `epoch`. Each shuffle of n items reads
// ceil(n / 4) counters, so a stride of 2^32 keeps them disjoint for up to 2^34 documents.
uint64_t order_offset(int64_t epoch, uint64_t stage) {
  return (uint64_t{1} << 62) + ((static_cast<uint64_t>(epoch) * 2 + stage) << 32);
}

int64_t doc_length(const std::vector<std::vector<int32_t>>& docs, int64_t i) {
  DOCBERT_CHECK(i >= 0 && i < static_cast<int64_t>(docs.size()), "batching: document index {} is outside [0, {})", i,
                docs.size());
  const int64_t n = static_cast<int64_t>(docs[static_cast<size_t>(i)].size());
  DOCBERT_CHECK(n > 0, "batching: document {} has no tokens (give it an [UNK] or leave it out)", i);
  return n;
}

// Cuts `order` into consecutive batches of batch_size (the last one may be short).
std::vector<std::vector<int64_t>> cut(const std::vector<int64_t>& order, int64_t batch_size) {
  const size_t size = static_cast<size_t>(batch_size);
  std::vector<std::vector<int64_t>> batches;
  for (size_t b = 0; b < order.size(); b += size)
    batches.emplace_back(order.begin() + b, order.begin() + std::min(order.size(), b + size));
  return batches;
}

// The document lengths of `batch`, checked, and the index dtype checked.
std::vector<int64_t> batch_lengths(const std::vector<std::vector<int32_t>>& docs, const std::vector<int64_t>& batch,
                                   const CollateOptions& options) {
  DOCBERT_CHECK(!batch.empty(), "batching: collate got an empty batch");
  DOCBERT_CHECK(options.index_dtype == DType::I32 || options.index_dtype == DType::I64,
                "batching: index_dtype {} is not i32 or i64", dtype_name(options.index_dtype));
  std::vector<int64_t> lengths;
  lengths.reserve(batch.size());
  for (int64_t i : batch) lengths.push_back(doc_length(docs, i));
  return lengths;
}

// A CPU tensor of `values` in `dtype` (i32 or i64).
Tensor index_tensor(const std::vector<int64_t>& values, const Shape& shape, DType dtype) {
  if (dtype == DType::I64) return Tensor::from_vector(values, shape);
  return Tensor::from_vector(std::vector<int32_t>(values.begin(), values.end()), shape);
}

}  // namespace

std::vector<std::vector<int64_t>> plan_epoch(const std::vector<std::vector<int32_t>>& docs, int64_t epoch,
                                             const BatchPlanOptions& options) {
  DOCBERT_CHECK(!docs.empty(), "batching: no documents to plan");
  DOCBERT_CHECK(options.batch_size >= 1, "batching: batch_size {} must be at least 1", options.batch_size);
  DOCBERT_CHECK(options.pool_batches >= 1, "batching: pool_batches {} must be at least 1", options.pool_batches);
  DOCBERT_CHECK(epoch >= 0 && epoch < (int64_t{1} << 29), "batching: epoch {} is outside [0, 2^29)", epoch);
  const int64_t n = static_cast<int64_t>(docs.size());
  std::vector<int64_t> lengths(docs.size());
  for (int64_t i = 0; i < n; ++i) lengths[static_cast<size_t>(i)] = doc_length(docs, i);
  const int64_t kept = options.drop_last ? n - n % options.batch_size : n;
  DOCBERT_CHECK(kept > 0, "batching: drop_last leaves no batch ({} documents, batch_size {})", n, options.batch_size);

  std::vector<int64_t> order(docs.size());
  std::iota(order.begin(), order.end(), 0);
  const auto longer = [&](int64_t a, int64_t b) {
    return lengths[static_cast<size_t>(a)] > lengths[static_cast<size_t>(b)];
  };
  if (options.order == BatchOrder::Original) {
    order.resize(static_cast<size_t>(kept));
    return cut(order, options.batch_size);
  }
  if (options.order == BatchOrder::ByLength) {
    std::stable_sort(order.begin(), order.end(), longer);
    order.resize(static_cast<size_t>(kept));
    return cut(order, options.batch_size);
  }
  seeded_shuffle(order, options.seed, order_offset(epoch, 0));
  order.resize(static_cast<size_t>(kept));
  // A pool never needs more than the kept documents; capping before multiplying keeps the product from overflowing.
  const int64_t pool =
      options.pool_batches > (kept - 1) / options.batch_size ? kept : options.batch_size * options.pool_batches;
  for (int64_t p = 0; p < kept; p += pool)
    std::stable_sort(order.begin() + p, order.begin() + std::min(kept, p + pool), longer);
  std::vector<std::vector<int64_t>> batches = cut(order, options.batch_size);
  seeded_shuffle(batches, options.seed, order_offset(epoch, 1));
  return batches;
}

PaddedBatch collate_padded(const std::vector<std::vector<int32_t>>& docs, const std::vector<int64_t>& batch,
                           const CollateOptions& options) {
  DOCBERT_CHECK(options.pad_to_multiple >= 1, "batching: pad_to_multiple {} must be at least 1",
                options.pad_to_multiple);
  const std::vector<int64_t> lengths = batch_lengths(docs, batch, options);
  const int64_t B = static_cast<int64_t>(batch.size());
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  const int64_t multiple = options.pad_to_multiple;
  const int64_t round_up = longest % multiple == 0 ? 0 : multiple - longest % multiple;
  // B * T ids must fit a vector; written as a division so that neither the rounding nor the product can overflow.
  const auto max_ids = static_cast<int64_t>(std::vector<int64_t>().max_size());
  DOCBERT_CHECK(longest <= max_ids / B - round_up,
                "batching: padding {} documents of up to {} tokens to a multiple of pad_to_multiple {} exceeds {} ids",
                B, longest, multiple, max_ids);
  const int64_t T = longest + round_up;
  std::vector<int64_t> ids(static_cast<size_t>(B * T), options.pad_id), mask(static_cast<size_t>(B * T), 0);
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<int32_t>& doc = docs[static_cast<size_t>(batch[static_cast<size_t>(b)])];
    std::copy(doc.begin(), doc.end(), ids.begin() + b * T);
    std::fill_n(mask.begin() + b * T, doc.size(), 1);
  }
  return {index_tensor(ids, {B, T}, options.index_dtype), index_tensor(mask, {B, T}, options.index_dtype),
          index_tensor(lengths, {B}, options.index_dtype), batch};
}

PackedBatch collate_packed(const std::vector<std::vector<int32_t>>& docs, const std::vector<int64_t>& batch,
                           const CollateOptions& options) {
  const std::vector<int64_t> lengths = batch_lengths(docs, batch, options);
  std::vector<int32_t> cu(batch.size() + 1, 0);
  std::vector<int64_t> tokens;
  for (size_t b = 0; b < batch.size(); ++b) {
    const std::vector<int32_t>& doc = docs[static_cast<size_t>(batch[b])];
    DOCBERT_CHECK(tokens.size() + doc.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()),
                  "batching: a packed batch of more than 2^31 - 1 tokens does not fit i32 cu_seqlens");
    tokens.insert(tokens.end(), doc.begin(), doc.end());
    cu[b + 1] = static_cast<int32_t>(tokens.size());
  }
  const int64_t N = static_cast<int64_t>(tokens.size()), B = static_cast<int64_t>(batch.size());
  return {index_tensor(tokens, {N}, options.index_dtype), Tensor::from_vector(cu, {B + 1}),
          *std::max_element(lengths.begin(), lengths.end()), batch};
}

}  // namespace docbert::data
