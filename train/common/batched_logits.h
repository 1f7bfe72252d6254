// train/common/batched_logits.h: one model over many documents in length-sorted batches, the loop both the
// teacher's and the student's inference run.
#pragma once

#include "engine/tensor.h"
#include "train/data/batching.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace docbert::train {

// The (N, K) f32 logits of every document, row i for docs[i]. Documents are batched longest first
// (data::BatchOrder::ByLength) so a batch carries little padding, collated with pad id 0 (a valid row of every
// docbert vocabulary; the caller's model must ignore padding: an attention mask, true lengths), run under a
// NoGradGuard and put back in the given order.
//   docs        token ids per document, each non-empty (the caller checks its model's limits)
//   batch_size  >= 1
//   num_labels  K, the width of forward's output
//   forward     the model on one batch: (B, K) logits in any float dtype, row r for batch.documents[r]
//   on_batch    when set, called after each batch with the number of documents done so far (progress bars)
Tensor batched_logits(const std::vector<std::vector<int32_t>>& docs, int64_t batch_size, int64_t num_labels,
                      const std::function<Tensor(const data::PaddedBatch& batch)>& forward,
                      const std::function<void(int64_t done)>& on_batch = {});

}  // namespace docbert::train
