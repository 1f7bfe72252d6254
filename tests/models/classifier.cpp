// BERT classifier head (HF BertForSequenceClassification): golden logits and losses of two tiny HF models
// (tests/golden/bert_classifier.py), the save/load round trip and its config keys, random init, a new head on a
// pretrained encoder, and the errors of classifier folders and losses.
#include "models/bert/classifier.h"

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/op_table.h"
#include "tests/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

using namespace docbert;
using namespace docbert::bert;
using namespace docbert::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::string hf_dir(const std::string& variant) {
  return std::string(DOCBERT_SOURCE_DIR) + "/tests/golden/fixtures/bert_classifier_" + variant + "_hf";
}

BertConfig tiny_config() {
  BertConfig c = BertConfig::preset("tiny", 50);
  c.max_position_embeddings = 16;
  return c;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()});
}

void require_same_params(const ParameterRegistry& a, const ParameterRegistry& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a.all()[i].name);
    REQUIRE(a.all()[i].name == b.all()[i].name);
    REQUIRE(bit_equal(a.all()[i].tensor, b.all()[i].tensor));
  }
}

// A copy of the multi-label HF folder whose config.json is edited by `edit`; returns the folder.
std::string edited_copy(const ScratchDir& scratch, const std::string& name, void (*edit)(json&)) {
  const std::string dir = scratch.file(name);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(hf_dir("multi") + "/model.safetensors", dir + "/model.safetensors");
  json j = read_json(hf_dir("multi") + "/config.json");
  edit(j);
  scratch.write(name + "/config.json", j.dump(2));
  return dir;
}

}  // namespace

TEST_CASE("BertClassifier matches HF BertForSequenceClassification: logits, loss and gradients", "[bert][classifier]") {
  const std::map<std::string, Tensor> fx = load_fixture("bert_classifier");
  const Tensor &ids = fx.at("input_ids"), &mask = fx.at("attention_mask"), &types = fx.at("token_type_ids");
  for (const std::string variant : {"multi", "single"}) {
    INFO(variant);
    const Tensor &want_logits = fx.at(variant + "_logits"), &want_loss = fx.at(variant + "_loss");
    for (DType dt : {DType::F32, DType::F64}) {
      INFO(dtype_name(dt));
      ClassifierLoadReport report;
      const BertClassifier m = BertClassifier::from_pretrained(hf_dir(variant), &report, dt);
      CHECK(report.loaded == static_cast<int64_t>(m.params().size()));
      CHECK(report.initialised.empty());
      CHECK(report.unused.empty());
      CHECK(m.problem_type() == (variant == "multi" ? ProblemType::MultiLabel : ProblemType::SingleLabel));
      CHECK(m.classifier_dropout() == 0.1);  // null in HF's config: hidden_dropout_prob

      const Tensor logits = m.forward(ids, types, mask);
      // The fixture is HF's float64 run; f32 is held to the 1e-5 / 1e-6, f64 to rounding noise.
      const double tol_logits = dt == DType::F32 ? 1e-5 : 1e-12, tol_loss = dt == DType::F32 ? 1e-6 : 1e-13;
      check_close(logits.to(DType::F64), want_logits, tol_logits, Tol::Absolute, "logits");
      Tensor labels = fx.at(variant + "_labels");
      if (variant == "multi") labels = labels.to(dt);
      const Tensor loss = m.loss(logits, labels);
      check_close(loss.to(DType::F64), want_loss, tol_loss, Tol::Absolute, "loss");
      // Gradients of a few parameters (head, pooler, attention, LayerNorm, embedding tables) against HF's backward.
      loss.backward();
      const double tol_grad = dt == DType::F32 ? 2e-5 : 1e-12;
      int checked = 0;
      for (const auto& [key, want] : fx) {
        const std::string prefix = variant + "_grad.";
        if (key.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string name = key.substr(prefix.size());
        INFO(name);
        check_close(m.params().get(name).grad().to(DType::F64), want, tol_grad, Tol::Absolute, name.c_str());
        ++checked;
      }
      CHECK(checked == 7);
    }
  }
  const BertClassifier multi = BertClassifier::from_pretrained(hf_dir("multi"));
  CHECK(multi.labels() == std::vector<std::string>{"acq", "crude", "earn", "grain", "trade"});
  CHECK(multi.params().all().front().name == "bert.embeddings.word_embeddings.weight");
  CHECK(multi.params().all().back().name == "classifier.bias");
}

TEST_CASE("BertClassifier save_pretrained / from_pretrained round trip", "[bert][classifier]") {
  ScratchDir dir;
  const BertClassifier m = BertClassifier::from_pretrained(hf_dir("multi"));
  m.save_pretrained(dir.file("out"));
  const BertClassifier back = BertClassifier::from_pretrained(dir.file("out"));
  require_same_params(m.params(), back.params());
  CHECK(back.labels() == m.labels());
  CHECK(back.problem_type() == ProblemType::MultiLabel);
  CHECK(back.config().to_json() == m.config().to_json());
  const Tensor ids = ids_tensor({2, 5, 7, 9, 11, 3}, {2, 3});
  CHECK(bit_equal(m.forward(ids), back.forward(ids)));

  // The same tensor names as transformers' own file, and the HF keys in config.json.
  const SafetensorsFile ours_file = SafetensorsFile::open(dir.file("out/model.safetensors"));
  const SafetensorsFile hf_file = SafetensorsFile::open(hf_dir("multi") + "/model.safetensors");
  std::set<std::string> ours, hf;
  for (const SafetensorsEntry& e : ours_file.entries()) ours.insert(e.name);
  for (const SafetensorsEntry& e : hf_file.entries()) hf.insert(e.name);
  CHECK(ours == hf);
  const json saved = read_json(dir.file("out/config.json")), want = read_json(hf_dir("multi") + "/config.json");
  CHECK(saved["architectures"] == json{"BertForSequenceClassification"});
  CHECK(saved["model_type"] == "bert");
  for (const char* key : {"id2label", "label2id", "problem_type", "classifier_dropout"}) {
    INFO(key);
    CHECK(saved[key] == want[key]);
  }
  CHECK(saved["num_labels"] == 5);
  CHECK_FALSE(std::filesystem::exists(dir.file("out/config.json.tmp")));

  // Saving over an existing folder keeps its other files (a tokenizer's vocab.txt).
  dir.write("out/vocab.txt", "[PAD]\n");
  back.save_pretrained(dir.file("out"));
  CHECK(std::filesystem::exists(dir.file("out/vocab.txt")));
  require_same_params(m.params(), BertClassifier::from_pretrained(dir.file("out")).params());
}

TEST_CASE("BertClassifier random init, forward and loss", "[bert][classifier]") {
  const BertConfig c = tiny_config();
  const BertClassifier m(c, 4, ProblemType::SingleLabel, {}, 21);
  CHECK(m.labels() == std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"});
  // The encoder is BertModel(config, seed); the head is N(0, 0.02) with a zero bias.
  const BertModel enc(c, 21);
  REQUIRE(m.params().size() == enc.params().size() + 2);
  for (const NamedTensor& p : enc.params().all()) {
    INFO(p.name);
    REQUIRE(bit_equal(m.params().get("bert." + p.name), p.tensor));
  }
  const Tensor& w = m.params().get("classifier.weight");
  CHECK(w.shape() == Shape{4, 128});
  CHECK(max_abs(m.params().get("classifier.bias")) == 0);
  const Tensor w64 = w.to(DType::F64);
  double sq = 0;
  for (int64_t i = 0; i < w64.numel(); ++i) sq += w64.data<double>()[i] * w64.data<double>()[i];
  CHECK(std::sqrt(sq / static_cast<double>(w64.numel())) == Approx(0.02).epsilon(0.15));
  CHECK(bit_equal(w, BertClassifier(c, 4, ProblemType::SingleLabel, {}, 21).params().get("classifier.weight")));
  CHECK_FALSE(bit_equal(w, BertClassifier(c, 4, ProblemType::SingleLabel, {}, 22).params().get("classifier.weight")));

  // Training: dropout makes the logits differ from eval, the same stream gives the same logits, and the loss
  // reaches every parameter.
  const Tensor ids = ids_tensor({2, 5, 7, 9, 11, 3, 4, 0}, {2, 4}), mask = ids_tensor({1, 1, 1, 1, 1, 1, 1, 0}, {2, 4});
  RngStream r1{5, 0}, r2{5, 0};
  const Tensor train = m.forward(ids, Tensor(), mask, true, &r1);
  CHECK(train.shape() == Shape{2, 4});
  CHECK(bit_equal(train, m.forward(ids, Tensor(), mask, true, &r2)));
  CHECK_FALSE(bit_equal(train, m.forward(ids, Tensor(), mask)));
  Tensor loss = m.loss(train, ids_tensor({3, 0}, {2}));
  CHECK(loss.shape() == Shape{});
  loss.backward();
  for (const NamedTensor& p : m.params().all()) {
    INFO(p.name);
    CHECK(p.tensor.grad().defined());
  }

  // Multi-label: BCE on (B, K) float targets; each problem type rejects the other's labels.
  const BertClassifier ml(c, 3, ProblemType::MultiLabel, {"a", "b", "c"}, 23);
  const Tensor logits = ml.forward(ids);
  Tensor hot = Tensor::zeros({2, 3});
  hot.data<float>()[1] = 1;
  CHECK(bit_equal(ml.loss(logits, hot), bce_with_logits(logits, hot)));
  CHECK_THROWS_WITH(ml.loss(logits, ids_tensor({1, 2}, {2})), Contains("multi_label_classification takes (B, K)"));
  CHECK_THROWS_WITH(m.loss(train, hot), Contains("single_label_classification takes (B) integer"));
}

TEST_CASE("BertClassifier::from_pretrained_encoder starts a new head", "[bert][classifier]") {
  ScratchDir dir;
  const BertModel enc(tiny_config(), 31);
  enc.save_pretrained(dir.file("encoder"));
  ClassifierLoadReport report;
  const BertClassifier m = BertClassifier::from_pretrained_encoder(dir.file("encoder"), 3, ProblemType::MultiLabel,
                                                                   {"x", "y", "z"}, 7, &report);
  CHECK(report.loaded == static_cast<int64_t>(enc.params().size()));
  CHECK(report.initialised == std::vector<std::string>{"classifier.weight", "classifier.bias"});
  CHECK(report.unused.empty());
  for (const NamedTensor& p : enc.params().all()) {
    INFO(p.name);
    REQUIRE(bit_equal(m.params().get("bert." + p.name), p.tensor));
  }
  // The head is the random constructor's for the same seed.
  const BertClassifier fresh(tiny_config(), 3, ProblemType::MultiLabel, {"x", "y", "z"}, 7);
  CHECK(bit_equal(m.params().get("classifier.weight"), fresh.params().get("classifier.weight")));

  // A classifier folder's encoder, with its old head unused.
  const BertClassifier re =
      BertClassifier::from_pretrained_encoder(hf_dir("multi"), 2, ProblemType::SingleLabel, {}, 8, &report);
  CHECK(report.unused == std::vector<std::string>{"classifier.bias", "classifier.weight"});
  CHECK(re.params().get("classifier.weight").shape() == Shape{2, 32});

  // A plain encoder folder is not a classifier.
  CHECK_THROWS_WITH(BertClassifier::from_pretrained(dir.file("encoder")),
                    Contains("no classifier.weight, classifier.bias: not a sequence-classification checkpoint"));
}

TEST_CASE("BertClassifier errors", "[bert][classifier]") {
  const BertConfig c = tiny_config();
  CHECK_THROWS_WITH(BertClassifier(c, 3, ProblemType::MultiLabel, {"a", "b"}, 1),
                    Contains("num_labels is 3 but 2 label names were given"));
  CHECK_THROWS_WITH(BertClassifier(c, 2, ProblemType::MultiLabel, {"a", "a"}, 1), Contains("must be unique"));
  CHECK_THROWS_WITH(BertClassifier(c, 0, ProblemType::MultiLabel, {}, 1), Contains("num_labels must be positive"));
  CHECK_THROWS_WITH(parse_problem_type("regression", "<test>"),
                    Contains("<test>: unknown problem type 'regression' (expected single_label_classification"));

  ScratchDir dir;
  CHECK_THROWS_WITH(BertClassifier::from_pretrained(edited_copy(dir, "k", [](json& j) { j["num_labels"] = 4; })),
                    Contains("'num_labels' is 4 but 'id2label' has 5 labels"));
  CHECK_THROWS_WITH(
      BertClassifier::from_pretrained(edited_copy(dir, "p", [](json& j) { j["problem_type"] = "regression"; })),
      Contains("config.json: unknown problem type 'regression'"));
  CHECK_THROWS_WITH(BertClassifier::from_pretrained(edited_copy(dir, "l", [](json& j) { j["label2id"]["acq"] = 3; })),
                    Contains("'label2id'") && Contains("is not the inverse of 'id2label'"));
  CHECK_THROWS_WITH(BertClassifier::from_pretrained(edited_copy(dir, "i", [](json& j) { j["id2label"].erase("2"); })),
                    Contains("'id2label' must map each of \"0\" .. \"3\" to a label name"));
  // Without id2label and num_labels HF means two labels; the file's head has five.
  CHECK_THROWS_WITH(BertClassifier::from_pretrained(edited_copy(dir, "d",
                                                                [](json& j) {
                                                                  j.erase("id2label");
                                                                  j.erase("label2id");
                                                                })),
                    Contains("tensor 'classifier.weight' has shape (5,32) but the config's 2 labels"));
}
