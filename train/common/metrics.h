// train/common/metrics.h: hedwig's classification metrics (accuracy, micro/macro precision, recall, F1) from logits.
//
// Predictions follow hedwig's evaluators (docs/training.md):
// - single-label: the argmax of the logits (the first index on ties and the first NaN, as torch.argmax);
// - multi-label: label j is predicted when sigmoid(logit) rounds to 1, i.e. logit > 0 (torch.round sends exactly
//   0.5 to 0, so a logit of exactly 0 is not predicted; a float sigmoid that rounds to 0.5 for 0 < logit < ~1e-7
//   is the only place where torch's result differs, and there the logit decides). A NaN logit is not predicted.
// Counting is over the documents x labels 0/1 matrix of gold and predicted labels, as sklearn with
// labels = all K label ids and zero_division = 0:
// - micro P/R/F1: from the global TP, FP, FN (single-label: all three equal the accuracy);
// - macro P/R/F1: the mean over all K labels of each label's P, R and F1 (a label with no predicted and no
//   gold document contributes 0, as sklearn's zero_division = 0);
// - accuracy: single-label, argmax == gold; multi-label, the predicted set equals the gold set (subset accuracy,
//   what hedwig prints as "accuracy" for Reuters).
#pragma once

#include "engine/tensor.h"
#include "models/problem_type.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace docbert::train {

struct ClassificationMetrics {
  int64_t documents = 0;
  double accuracy = 0;
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
};

// The predicted label ids of every row, sorted (single-label: exactly one).
//   logits  (N, K) f32 or f64 CPU tensor, N >= 0, K >= 1
std::vector<std::vector<int32_t>> predict_labels(const Tensor& logits, ProblemType problem);

// The metrics of `logits` against `gold`.
//   logits  (N, K) f32 or f64 CPU tensor
//   gold    N label-id lists (sets: order and repeats do not matter), ids in [0, K) (single-label: exactly one
//           each); a size other than N, an id out of range or a single-label row without exactly one id is an error
//           naming the row
// N = 0 gives all zeros.
ClassificationMetrics classification_metrics(const Tensor& logits, const std::vector<std::vector<int32_t>>& gold,
                                             ProblemType problem);

// The model-selection metric: micro-F1 for multi-label, accuracy for single-label (they are equal there).
double selection_metric(const ClassificationMetrics& m, ProblemType problem);

// {"documents", "accuracy", "micro_precision", "micro_recall", "micro_f1", "macro_precision", "macro_recall",
//  "macro_f1"}
nlohmann::json to_json(const ClassificationMetrics& m);

}  // namespace docbert::train
