// train/teacher/inference.h: a BERT classifier over many documents, the one inference path of the trainer's
// evaluations and of docbert_predict.
#pragma once

#include "engine/tensor.h"
#include "models/bert/classifier.h"
#include "tokenizer/wordpiece.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace docbert::train {

// The model inputs of `texts`: WordPiece encode() with [CLS] ... [SEP], at most max_seq_len ids each. Documents are
// encoded in parallel (engine/parallel.h); the result does not depend on the thread count.
//   texts        UTF-8 documents (an empty text gives [CLS] [SEP])
//   max_seq_len  2 .. the model's max_position_embeddings (below 2 is an error; more is caught by predict_logits)
//   truncation, head_pieces  which pieces a longer document keeps (WordPiece::encode)
std::vector<std::vector<int32_t>> encode_texts(const tok::WordPiece& tokenizer, const std::vector<std::string>& texts,
                                               int max_seq_len, tok::Truncation truncation, int head_pieces = 128);

// The (N, K) f32 logits of every document, row i for docs[i], in eval mode (no dropout, no graph; under a
// NoGradGuard). Documents are batched longest first (data::BatchOrder::ByLength) so a batch carries little padding,
// which the attention mask hides: each row equals the document's forward pass alone up to float rounding, whatever the
// batch size. The rows are put back in the given order.
//   model       the classifier, in any dtype (f64 logits are converted to f32)
//   docs        encoded documents (encode_texts), each 1 .. max_position_embeddings ids (else an error naming the
//               document); none gives a (0, K) tensor
//   batch_size  >= 1
//   on_batch    when set, called after each batch with the number of documents done so far (progress bars)
Tensor predict_logits(const bert::BertClassifier& model, const std::vector<std::vector<int32_t>>& docs,
                      int64_t batch_size, const std::function<void(int64_t done)>& on_batch = {});

// The input length a saved teacher was trained with: tokenizer_config.json's model_max_length when it fits the
// position table, else max_positions (also for HF's huge placeholder, or without the file). An unreadable file is an
// error naming it.
//   model_dir      the teacher folder
//   max_positions  the model's max_position_embeddings
int64_t trained_max_seq_length(const std::string& model_dir, int64_t max_positions);

}  // namespace docbert::train
