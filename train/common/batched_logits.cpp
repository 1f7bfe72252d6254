#include "train/common/batched_logits.h"

#include "engine/autograd.h"
#include "base/error.h"

#include <cstring>

namespace docbert::train {

Tensor batched_logits(const std::vector<std::vector<int32_t>>& docs, int64_t batch_size, int64_t num_labels,
                      const std::function<Tensor(const data::PaddedBatch& batch)>& forward,
                      const std::function<void(int64_t done)>& on_batch) {
  DOCBERT_CHECK(batch_size >= 1, "batched_logits: batch_size must be at least 1, got {}", batch_size);
  const auto n = static_cast<int64_t>(docs.size());
  const int64_t k = num_labels;
  Tensor out = Tensor::zeros({n, k}, DType::F32);
  if (n == 0) return out;  // plan_epoch refuses an empty list
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = batch_size;
  plan_options.order = data::BatchOrder::ByLength;
  const NoGradGuard no_grad;
  float* rows = out.data<float>();
  int64_t done = 0;
  for (const std::vector<int64_t>& batch : data::plan_epoch(docs, /*epoch=*/0, plan_options)) {
    const data::PaddedBatch b = data::collate_padded(docs, batch);
    const Tensor logits = forward(b).to(DType::F32);
    DOCBERT_CHECK(logits.dim() == 2 && logits.size(0) == static_cast<int64_t>(batch.size()) && logits.size(1) == k,
                  "batched_logits: the model returned {} logits for a batch of {} documents and {} labels",
                  shape_str(logits.shape()), batch.size(), k);
    const float* src = logits.data<float>();
    for (size_t r = 0; r < b.documents.size(); ++r)
      std::memcpy(rows + b.documents[r] * k, src + static_cast<int64_t>(r) * k, static_cast<size_t>(k) * sizeof(float));
    done += static_cast<int64_t>(batch.size());
    if (on_batch) on_batch(done);
  }
  return out;
}

}  // namespace docbert::train
