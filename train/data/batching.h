// train/data/batching.h: which documents go into which batch each epoch, and the batch tensors.
//
// Documents arrive as token-id sequences (the output of a tokenizer + vocabulary); a batch is a list of document
// indices. plan_epoch is a pure function of (documents' lengths, seed, epoch, options): nothing is stored between
// epochs, and a run resumed at epoch e, batch k replays plan_epoch(..., e, ...)[k:] exactly.
//
// Training order (BatchOrder::Bucketed), torchtext's BucketIterator with a seeded, documented rule:
//   1. shuffle the document indices with seeded_shuffle(seed, offset of (epoch, stage 0));
//   2. with drop_last, drop the last n % batch_size of them (a random, length-unbiased choice);
//   3. cut the shuffled list into pools of batch_size * pool_batches documents and sort each pool by length,
//      longest first (stable, so equal lengths keep their shuffled order);
//   4. cut each pool into batches of batch_size (only the last batch of the epoch can be short);
//   5. shuffle the batch order with seeded_shuffle(seed, offset of (epoch, stage 1)).
// A batch then holds documents of similar length, which cuts padding, while both its content and its place in the
// epoch stay random. The offsets start at 2^62, far above what RngStreams hand out (engine/random.h), so a data seed
// equal to the model seed draws words no initialiser or dropout mask uses.
#pragma once

#include "engine/tensor.h"

#include <cstdint>
#include <vector>

namespace docbert::data {

enum class BatchOrder {
  Bucketed,  // training: the seeded rule above
  Original,  // evaluation: documents in their given order
  ByLength,  // evaluation, least padding: longest first; each batch's indices map the results back
};

struct BatchPlanOptions {
  int64_t batch_size = 32;
  BatchOrder order = BatchOrder::Bucketed;
  // Bucketed only: pool size in batches. 50 pools 1,600 documents at batch size 32: enough for close lengths in
  // every batch, few enough that a batch is not the same neighbourhood of the length distribution every epoch.
  // 1 gives plain random batches.
  int64_t pool_batches = 50;
  // Drop the short last batch (Bucketed: a random n % batch_size documents; otherwise the last ones).
  bool drop_last = false;
  uint64_t seed = 0;  // Bucketed only
};

// The batches of one epoch, each a list of indices into `docs`; every document appears exactly once (or, with
// drop_last, all but n % batch_size of them).
//   docs    token ids per document; only the lengths are read. Throws when there is none, when one is empty
//           (its index named: give it an [UNK] or leave it out) or when drop_last leaves no batch
//   epoch   >= 0 and < 2^29; Bucketed batches differ from epoch to epoch, the others do not
//   options see BatchPlanOptions; batch_size and pool_batches >= 1
std::vector<std::vector<int64_t>> plan_epoch(const std::vector<std::vector<int32_t>>& docs, int64_t epoch,
                                             const BatchPlanOptions& options);

struct CollateOptions {
  // The padded length T is the longest document of the batch rounded up to a multiple of this (8 keeps GEMM
  // shapes tensor-core friendly); 1 = no rounding.
  int64_t pad_to_multiple = 1;
  int32_t pad_id = 0;  // [PAD] in every docbert vocabulary
  // Dtype of ids, mask, lengths and packed tokens: i64 (HF's torch.long, the default) or i32. The engine's
  // embedding, lstm_layer and masked_max_pool read either.
  DType index_dtype = DType::I64;
};

// A batch as a padded (B, T) block, row b holding docs[documents[b]].
struct PaddedBatch {
  Tensor ids;                      // (B, T) index_dtype; pad_id from lengths[b] on
  Tensor mask;                     // (B, T) index_dtype; 1 for a real token, 0 for padding (HF's attention_mask)
  Tensor lengths;                  // (B) index_dtype; the true lengths, each in [1, T]
  std::vector<int64_t> documents;  // the batch's document indices, in row order
};

// A batch without padding: the documents back to back, what variable-length GPU kernels take.
struct PackedBatch {
  Tensor tokens;                   // (N) index_dtype; N = the sum of the lengths
  Tensor cu_seqlens;               // (B + 1) i32; document b is tokens[cu_seqlens[b], cu_seqlens[b + 1])
  int64_t max_seqlen = 0;          // the longest document
  std::vector<int64_t> documents;  // as in PaddedBatch
};

// Collates one batch of plan_epoch. Throws when `batch` is empty or names a document that is out of range or empty,
// or when the (B, T) block would exceed the largest std::vector (a huge pad_to_multiple).
//   docs    token ids per document
//   batch   document indices (a batch of plan_epoch, or any other list)
//   options see CollateOptions; pad_to_multiple >= 1, index_dtype I32 or I64
PaddedBatch collate_padded(const std::vector<std::vector<int32_t>>& docs, const std::vector<int64_t>& batch,
                           const CollateOptions& options = {});
// Same batch, packed (pad_to_multiple and pad_id do not apply).
PackedBatch collate_packed(const std::vector<std::vector<int32_t>>& docs, const std::vector<int64_t>& batch,
                           const CollateOptions& options = {});

}  // namespace docbert::data
