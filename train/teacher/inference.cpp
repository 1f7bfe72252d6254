#include "train/teacher/inference.h"

#include "engine/autograd.h"
#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"
#include "engine/parallel.h"
#include "train/common/batched_logits.h"

#include <cstring>
#include <filesystem>
#include <exception>

namespace docbert::train {

std::vector<std::vector<int32_t>> encode_texts(const tok::WordPiece& tokenizer, const std::vector<std::string>& texts,
                                               int max_seq_len, tok::Truncation truncation, int head_pieces) {
  // encode() treats 0 as "no special tokens, no limit", which is no model input: refuse it and 1 here.
  DOCBERT_CHECK(max_seq_len >= 2, "encode_texts: max_seq_len must be at least 2 ([CLS] and [SEP]), got {}",
                max_seq_len);
  // The checks encode() would make inside the loop, where an exception could not leave an OpenMP region.
  DOCBERT_CHECK(truncation != tok::Truncation::HeadTail || (head_pieces >= 0 && head_pieces <= max_seq_len - 2),
                "encode_texts: head_pieces must be in [0, max_seq_len - 2 = {}] with head+tail truncation, got {}",
                max_seq_len - 2, head_pieces);
  static_cast<void>(tokenizer.cls_id());  // these two throw when the vocabulary lacks the token
  static_cast<void>(tokenizer.sep_id());
  const auto n = static_cast<int64_t>(texts.size());
  std::vector<std::vector<int32_t>> ids(texts.size());
  // WordPiece is safe to share between threads (its scratch space is thread_local); every document writes its own
  // slot, so the result does not depend on the thread count. Grain 2: one document is already worth a thread.
  // Anything else a document throws (a text over 4 GiB) is kept and the first one rethrown after the loop.
  std::vector<std::exception_ptr> errors(texts.size());
  parallel_for(
      n,
      [&](int64_t i) {
        const auto k = static_cast<size_t>(i);
        try {
          ids[k] = tokenizer.encode(texts[k], max_seq_len, truncation, head_pieces);
        } catch (...) {
          errors[k] = std::current_exception();
        }
      },
      /*grain=*/2);
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return ids;
}

Tensor predict_logits(const bert::BertClassifier& model, const std::vector<std::vector<int32_t>>& docs,
                      int64_t batch_size, const std::function<void(int64_t done)>& on_batch) {
  const int64_t n = static_cast<int64_t>(docs.size()), k = model.num_labels();
  const int64_t max_len = model.config().max_position_embeddings;
  for (int64_t i = 0; i < n; ++i) {
    const auto len = static_cast<int64_t>(docs[static_cast<size_t>(i)].size());
    DOCBERT_CHECK(len >= 1 && len <= max_len,
                  "predict_logits: document {} has {} ids; the model takes 1 to {} (max_position_embeddings)", i, len,
                  max_len);
  }
  // The attention mask hides the padding.
  return batched_logits(
      docs, batch_size, k,
      [&](const data::PaddedBatch& b) { return model.forward(b.ids, Tensor(), b.mask, /*training=*/false); },
      on_batch);
}

int64_t trained_max_seq_length(const std::string& model_dir, int64_t max_positions) {
  const std::string path = (std::filesystem::path(model_dir) / "tokenizer_config.json").string();
  if (!std::filesystem::exists(path)) return max_positions;
  const nlohmann::json j = parse_json_object(read_file(path, "tokenizer config"), path);
  const auto it = j.find("model_max_length");
  if (it == j.end() || !it->is_number()) return max_positions;
  const double n = it->get<double>();
  return n >= 2 && n <= static_cast<double>(max_positions) ? static_cast<int64_t>(n) : max_positions;
}

}  // namespace docbert::train
