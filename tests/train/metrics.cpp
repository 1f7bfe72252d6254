// Classification metrics: hand-worked single- and multi-label cases (ties, a logit of exactly 0, a label never
// predicted nor gold, no documents), argument errors, and the golden comparison with scikit-learn
// (tests/golden/metrics.py).
#include <catch2/catch.hpp>

#include "engine/tensor.h"
#include "models/problem_type.h"
#include "tests/op_table.h"
#include "train/common/metrics.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

using docbert::DType;
using docbert::ProblemType;
using docbert::Tensor;
using docbert::train::classification_metrics;
using docbert::train::ClassificationMetrics;
using docbert::train::predict_labels;
using docbert::train::selection_metric;
using Labels = std::vector<std::vector<int32_t>>;

namespace {

// The metrics in the golden fixture's order: accuracy, micro P, R, F1, macro P, R, F1.
std::vector<double> as_vector(const ClassificationMetrics& m) {
  return {m.accuracy, m.micro_precision, m.micro_recall, m.micro_f1, m.macro_precision, m.macro_recall, m.macro_f1};
}

void check_metrics(const ClassificationMetrics& m, const std::vector<double>& want, double tol) {
  const std::vector<double> got = as_vector(m);
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("metric " << i << " (accuracy, micro P R F1, macro P R F1)");
    CHECK(std::abs(got[i] - want[i]) <= tol);
  }
}

// Single-label, K = 3: row 0 ties labels 0 and 1 (label 0 wins), rows 0 and 2 are right, rows 1 and 3 wrong.
Tensor single_logits() { return Tensor::from_vector<double>({1, 1, 0, 0, 2, 1, 0, 0, 3, 5, 0, 0}, {4, 3}); }
const Labels kSingleGold = {{0}, {2}, {2}, {1}};

// Multi-label, K = 4: row 0 has a logit of exactly 0 (label 0, gold but not predicted), row 1 is exactly right, row 2
// predicts nothing and has no gold (right); label 3 is never predicted and never gold.
Tensor multi_logits() { return Tensor::from_vector<double>({0, 2, -1, -3, 1, -1, 0.5, -2, -1, -1, -1, -1}, {3, 4}); }
const Labels kMultiGold = {{0, 1}, {0, 2}, {}};

}  // namespace

TEST_CASE("metrics: single-label argmax takes the first of tied logits", "[metrics]") {
  CHECK(predict_labels(single_logits(), ProblemType::SingleLabel) == Labels{{0}, {1}, {2}, {0}});
  // torch.argmax: a NaN is the maximum, the first NaN wins.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan = Tensor::from_vector<double>({1, nan, 5, nan}, {1, 4});
  CHECK(predict_labels(with_nan, ProblemType::SingleLabel) == Labels{{1}});
}

TEST_CASE("metrics: multi-label predicts logits above 0, never exactly 0", "[metrics]") {
  CHECK(predict_labels(multi_logits(), ProblemType::MultiLabel) == Labels{{1}, {0, 2}, {}});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor edge = Tensor::from_vector<float>({0.0f, -0.0f, 1e-30f, static_cast<float>(nan), -1e-30f}, {1, 5});
  CHECK(predict_labels(edge, ProblemType::MultiLabel) == Labels{{2}});
}

TEST_CASE("metrics: single-label hand-worked case", "[metrics]") {
  // Per label (TP, FP, FN): 0 (1, 1, 0) P 1/2 R 1 F1 2/3; 1 (0, 1, 1) all 0; 2 (1, 0, 1) P 1 R 1/2 F1 2/3.
  const ClassificationMetrics m = classification_metrics(single_logits(), kSingleGold, ProblemType::SingleLabel);
  CHECK(m.documents == 4);
  check_metrics(m, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 4.0 / 9}, 1e-15);
  CHECK(selection_metric(m, ProblemType::SingleLabel) == 0.5);
  // Single-label micro P, R and F1 are the accuracy, to the bit.
  CHECK(m.micro_precision == m.accuracy);
  CHECK(m.micro_f1 == m.accuracy);
}

TEST_CASE("metrics: multi-label hand-worked case with an unused label", "[metrics]") {
  // Per label (TP, FP, FN): 0 (1, 0, 1) P 1 R 1/2 F1 2/3; 1 (1, 0, 0) all 1; 2 (1, 0, 0) all 1; 3 (0, 0, 0) all 0
  // (zero_division). Micro: TP 3, FP 0, FN 1. Subset accuracy: rows 1 and 2 of 3.
  const ClassificationMetrics m = classification_metrics(multi_logits(), kMultiGold, ProblemType::MultiLabel);
  CHECK(m.documents == 3);
  check_metrics(m, {2.0 / 3, 1, 0.75, 6.0 / 7, 0.75, 0.625, 2.0 / 3}, 1e-15);
  CHECK(selection_metric(m, ProblemType::MultiLabel) == m.micro_f1);
  // f32 logits give the same counts; gold order and repeats do not matter.
  const ClassificationMetrics m32 =
      classification_metrics(multi_logits().to(DType::F32), Labels{{1, 0, 1}, {2, 0}, {}}, ProblemType::MultiLabel);
  CHECK(as_vector(m32) == as_vector(m));
}

TEST_CASE("metrics: no documents give zeros", "[metrics]") {
  const Tensor none = Tensor::zeros({0, 3}, DType::F32);
  CHECK(predict_labels(none, ProblemType::MultiLabel).empty());
  for (ProblemType p : {ProblemType::SingleLabel, ProblemType::MultiLabel}) {
    const ClassificationMetrics m = classification_metrics(none, {}, p);
    CHECK(m.documents == 0);
    check_metrics(m, std::vector<double>(7, 0.0), 0);
  }
  // Nothing predicted and nothing gold: every ratio is 0/0, so 0, while the empty sets match (accuracy 1).
  const ClassificationMetrics m =
      classification_metrics(Tensor::full({2, 3}, -1.0, DType::F32), {{}, {}}, ProblemType::MultiLabel);
  check_metrics(m, {1, 0, 0, 0, 0, 0, 0}, 0);
}

TEST_CASE("metrics: to_json names every field", "[metrics]") {
  const ClassificationMetrics m = classification_metrics(multi_logits(), kMultiGold, ProblemType::MultiLabel);
  const nlohmann::json j = docbert::train::to_json(m);
  CHECK(j.size() == 8);
  CHECK(j.at("documents").get<int64_t>() == 3);
  CHECK(j.at("accuracy").get<double>() == m.accuracy);
  CHECK(j.at("micro_precision").get<double>() == 1.0);
  CHECK(j.at("micro_recall").get<double>() == 0.75);
  CHECK(j.at("micro_f1").get<double>() == m.micro_f1);
  CHECK(j.at("macro_precision").get<double>() == 0.75);
  CHECK(j.at("macro_recall").get<double>() == 0.625);
  CHECK(j.at("macro_f1").get<double>() == m.macro_f1);
}

TEST_CASE("metrics: bad arguments are errors naming the row", "[metrics]") {
  using Catch::Matchers::Contains;
  const auto single = ProblemType::SingleLabel;
  CHECK_THROWS_WITH(classification_metrics(single_logits(), {{0}, {1}}, single), Contains("2 gold label lists for 4"));
  CHECK_THROWS_WITH(classification_metrics(single_logits(), {{0}, {1}, {3}, {0}}, single),
                    Contains("gold row 2 has label id 3 outside [0, 3)"));
  CHECK_THROWS_WITH(classification_metrics(single_logits(), {{0}, {1}, {-1}, {0}}, single),
                    Contains("gold row 2 has label id -1"));
  CHECK_THROWS_WITH(classification_metrics(single_logits(), {{0}, {0, 1}, {2}, {0}}, single),
                    Contains("gold row 1 has 2 labels (single-label needs exactly one)"));
  CHECK_THROWS_WITH(classification_metrics(single_logits(), {{0}, {}, {2}, {0}}, single), Contains("gold row 1 has 0"));
  CHECK_THROWS_WITH(predict_labels(Tensor::zeros({4}), single), Contains("logits"));
  CHECK_THROWS_WITH(predict_labels(Tensor::zeros({4, 0}), single), Contains("K must be >= 1"));
  CHECK_THROWS_WITH(predict_labels(Tensor::zeros({2, 3}, DType::I32), single), Contains("i32"));
}

TEST_CASE("metrics: golden values match scikit-learn", "[metrics][golden]") {
  // Both sides divide the same integer counts in double; only the order of the macro sums can differ (~1e-16).
  const auto g = docbert::test::load_fixture("metrics");
  for (int i = 0; i < 3; ++i) {
    for (const char* kind : {"multi", "single"}) {
      const std::string name = std::string(kind) + std::to_string(i);
      INFO(name);
      const Tensor& logits = g.at(name + ".logits");
      const Tensor& gold = g.at(name + ".gold");
      const int64_t n = logits.size(0), k = logits.size(1);
      const bool multi = std::string(kind) == "multi";
      Labels labels(static_cast<size_t>(n));
      for (int64_t r = 0; r < n; ++r) {
        if (!multi) {
          labels[static_cast<size_t>(r)].push_back(static_cast<int32_t>(gold.data<int64_t>()[r]));
          continue;
        }
        for (int64_t j = 0; j < k; ++j) {
          if (gold.data<int64_t>()[r * k + j] != 0) labels[static_cast<size_t>(r)].push_back(static_cast<int32_t>(j));
        }
      }
      const ProblemType p = multi ? ProblemType::MultiLabel : ProblemType::SingleLabel;
      const ClassificationMetrics m = classification_metrics(logits, labels, p);
      CHECK(m.documents == n);
      check_metrics(m, g.at(name + ".expected").to_vector<double>(), 1e-12);
      // And in f32: the logits are multiples of 0.5, exact in either dtype.
      check_metrics(classification_metrics(logits.to(DType::F32), labels, p),
                    g.at(name + ".expected").to_vector<double>(), 1e-12);
    }
  }
}
