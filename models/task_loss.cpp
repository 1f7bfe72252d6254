#include "models/task_loss.h"

#include "engine/ops.h"

namespace docbert {

Tensor task_loss(ProblemType problem, const Tensor& logits, const Tensor& labels) {
  const bool float_labels = labels.defined() && dtype_is_float(labels.dtype());
  if (problem == ProblemType::SingleLabel) {
    DOCBERT_CHECK(!float_labels, "task_loss: single_label_classification takes (B) integer class indices, got {} {}",
                  dtype_name(labels.dtype()), shape_str(labels.shape()));
    return cross_entropy(logits, labels);
  }
  DOCBERT_CHECK(float_labels, "task_loss: multi_label_classification takes (B, K) float multi-hot labels, got {}",
                labels.defined() ? dtype_name(labels.dtype()) : "undefined");
  // bce_with_logits wants both operands on one device; a (B, K) label batch is small next to the forward.
  const bool moved = logits.defined() && labels.device() != logits.device();
  return bce_with_logits(logits, moved ? labels.to(logits.device()) : labels);
}

}  // namespace docbert
