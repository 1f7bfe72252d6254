#include "train/student/inference.h"

#include "base/error.h"
#include "train/common/batched_logits.h"

#include <algorithm>

namespace docbert::train {

Tensor predict_student_logits(const lstm_reg::LstmReg& model, const std::vector<std::vector<int32_t>>& docs,
                              int64_t batch_size, const std::function<void(int64_t done)>& on_batch) {
  const int64_t n = static_cast<int64_t>(docs.size()), k = model.config().num_labels;
  const int64_t vocab = model.config().vocab_size;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int32_t>& d = docs[static_cast<size_t>(i)];
    DOCBERT_CHECK(!d.empty(), "predict_student_logits: document {} has no ids (an empty text encodes to one [UNK])", i);
    const auto [lo, hi] = std::minmax_element(d.begin(), d.end());
    DOCBERT_CHECK(*lo >= 0 && *hi < vocab,
                  "predict_student_logits: document {} has id {}, outside the model's vocabulary [0, {})", i,
                  *lo < 0 ? *lo : *hi, vocab);
  }
  // The LSTM stops at each true length, so the padding is never read.
  return batched_logits(
      docs, batch_size, k,
      [&](const data::PaddedBatch& b) { return model.forward(b.ids, b.lengths, /*training=*/false).logits; },
      on_batch);
}

}  // namespace docbert::train
