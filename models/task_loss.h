// models/task_loss.h: the supervised loss of a document classifier, one definition for the teacher
// (BertClassifier) and the student (LstmReg), chosen by the problem type as HF's BertForSequenceClassification does.
#pragma once

#include "engine/tensor.h"
#include "models/problem_type.h"

namespace docbert {

// The task loss, a scalar in the logits' dtype on the logits' device:
//   SingleLabel  cross_entropy(logits, labels), the mean over B; labels (B) i32/i64 class indices in [0, K), on any
//                device (the op checks them on the host and uploads them itself)
//   MultiLabel   bce_with_logits(logits, labels), the mean over B*K; labels (B, K) in the logits' dtype, multi-hot
//                0/1 or soft targets in [0, 1]; labels on another device than the logits are copied there first
//   logits       (B, K) f32/f64 (CPU) or f32 (CUDA), from a model's forward
// Labels of the other problem's kind (float for SingleLabel, integer or undefined for MultiLabel) are an error
// naming the problem type and the labels' dtype; shape and range errors are the ops' own.
Tensor task_loss(ProblemType problem, const Tensor& logits, const Tensor& labels);

}  // namespace docbert
