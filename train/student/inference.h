// train/student/inference.h: an LSTM_reg student over many documents, the one inference path of the student's
// evaluations, docbert_predict and bench_inference.
#pragma once

#include "engine/tensor.h"
#include "models/lstm_reg/lstm_reg.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace docbert::train {

// The (N, K) f32 logits of every document, row i for docs[i], in eval mode (no dropout of any kind, no graph; under a
// NoGradGuard). Documents are batched longest first (data::BatchOrder::ByLength) so a batch carries little padding,
// which the LSTM never reads (it runs over each document's true length): each row equals the document's forward pass
// alone up to float rounding, whatever the batch size. The rows are put back in the given order.
//   model       the student, in any dtype (f64 logits are converted to f32)
//   docs        encoded documents (StudentEncoder::encode_all), each at least one id, every id in [0, vocab_size)
//               (else an error naming the document); none gives a (0, K) tensor
//   batch_size  >= 1
//   on_batch    when set, called after each batch with the number of documents done so far (progress bars)
Tensor predict_student_logits(const lstm_reg::LstmReg& model, const std::vector<std::vector<int32_t>>& docs,
                              int64_t batch_size, const std::function<void(int64_t done)>& on_batch = {});

}  // namespace docbert::train
