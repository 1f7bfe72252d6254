// train/common/metrics.cpp: see metrics.h. Everything is counted per label (TP, FP, FN) in one pass over the rows;
// micro and macro figures both derive from those counts, as sklearn's multilabel_confusion_matrix does.
#include "train/common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace docbert::train {
namespace {

constexpr const char* kOp = "classification metrics";

void check_logits(const Tensor& logits) {
  check_cpu(kOp, logits);
  check_dim(kOp, "logits", logits, 2);
  check_float(kOp, "logits", logits);
  DOCBERT_CHECK(logits.size(1) >= 1, "{}: 'logits' {} has no label column (K must be >= 1)", kOp,
                shape_str(logits.shape()));
}

// Row `row`'s predictions, appended to `out` in increasing order.
template <class T>
void predict_row(const T* row, int64_t k, ProblemType problem, std::vector<int32_t>& out) {
  if (problem == ProblemType::SingleLabel) {
    // torch.argmax: the first maximum, and a NaN counts as larger than any number (the first NaN wins).
    int64_t best = 0;
    for (int64_t j = 1; j < k && !std::isnan(row[best]); ++j) {
      if (std::isnan(row[j]) || row[j] > row[best]) best = j;
    }
    out.push_back(static_cast<int32_t>(best));
    return;
  }
  for (int64_t j = 0; j < k; ++j) {
    if (row[j] > 0) out.push_back(static_cast<int32_t>(j));  // NaN > 0 is false: round(sigmoid(NaN)) is not 1
  }
}

double ratio(int64_t num, int64_t den) { return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den); }

}  // namespace

std::vector<std::vector<int32_t>> predict_labels(const Tensor& logits, ProblemType problem) {
  check_logits(logits);
  const int64_t n = logits.size(0), k = logits.size(1);
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
  dispatch_float(logits.dtype(), kOp, [&](auto zero) {
    using T = decltype(zero);
    const T* p = logits.data<T>();
    for (int64_t i = 0; i < n; ++i) predict_row(p + i * k, k, problem, out[static_cast<size_t>(i)]);
  });
  return out;
}

ClassificationMetrics classification_metrics(const Tensor& logits, const std::vector<std::vector<int32_t>>& gold,
                                             ProblemType problem) {
  check_logits(logits);
  const int64_t n = logits.size(0), k = logits.size(1);
  DOCBERT_CHECK(static_cast<int64_t>(gold.size()) == n, "{}: {} gold label lists for {} rows of logits {}", kOp,
                gold.size(), n, shape_str(logits.shape()));
  const std::vector<std::vector<int32_t>> predicted = predict_labels(logits, problem);

  std::vector<int64_t> tp(static_cast<size_t>(k)), fp(static_cast<size_t>(k)), fn(static_cast<size_t>(k));
  std::vector<char> in_gold(static_cast<size_t>(k)), in_pred(static_cast<size_t>(k));
  int64_t exact = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto& g = gold[static_cast<size_t>(i)];
    DOCBERT_CHECK(problem != ProblemType::SingleLabel || g.size() == 1,
                  "{}: gold row {} has {} labels (single-label needs exactly one)", kOp, i, g.size());
    std::fill(in_gold.begin(), in_gold.end(), 0);
    std::fill(in_pred.begin(), in_pred.end(), 0);
    for (int32_t id : g) {
      DOCBERT_CHECK(id >= 0 && id < k, "{}: gold row {} has label id {} outside [0, {})", kOp, i, id, k);
      in_gold[static_cast<size_t>(id)] = 1;
    }
    for (int32_t id : predicted[static_cast<size_t>(i)]) in_pred[static_cast<size_t>(id)] = 1;
    bool same = true;
    for (size_t j = 0; j < static_cast<size_t>(k); ++j) {
      tp[j] += in_gold[j] && in_pred[j];
      fp[j] += !in_gold[j] && in_pred[j];
      fn[j] += in_gold[j] && !in_pred[j];
      same = same && in_gold[j] == in_pred[j];
    }
    exact += same;
  }

  ClassificationMetrics m;
  m.documents = n;
  if (n == 0) return m;
  m.accuracy = ratio(exact, n);
  int64_t tp_all = 0, fp_all = 0, fn_all = 0;
  for (size_t j = 0; j < static_cast<size_t>(k); ++j) {
    tp_all += tp[j];
    fp_all += fp[j];
    fn_all += fn[j];
    m.macro_precision += ratio(tp[j], tp[j] + fp[j]);
    m.macro_recall += ratio(tp[j], tp[j] + fn[j]);
    // F1 from the counts, as sklearn >= 1.3 (equal to 2PR/(P+R) up to roundoff, and 0 where P and R are both 0).
    m.macro_f1 += ratio(2 * tp[j], 2 * tp[j] + fp[j] + fn[j]);
  }
  m.macro_precision /= static_cast<double>(k);
  m.macro_recall /= static_cast<double>(k);
  m.macro_f1 /= static_cast<double>(k);
  m.micro_precision = ratio(tp_all, tp_all + fp_all);
  m.micro_recall = ratio(tp_all, tp_all + fn_all);
  m.micro_f1 = ratio(2 * tp_all, 2 * tp_all + fp_all + fn_all);
  return m;
}

double selection_metric(const ClassificationMetrics& m, ProblemType problem) {
  return problem == ProblemType::MultiLabel ? m.micro_f1 : m.accuracy;
}

nlohmann::json to_json(const ClassificationMetrics& m) {
  return {{"documents", m.documents},       {"accuracy", m.accuracy}, {"micro_precision", m.micro_precision},
          {"micro_recall", m.micro_recall}, {"micro_f1", m.micro_f1}, {"macro_precision", m.macro_precision},
          {"macro_recall", m.macro_recall}, {"macro_f1", m.macro_f1}};
}

}  // namespace docbert::train
