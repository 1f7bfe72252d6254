#include "models/bert/classifier.h"

#include "base/file_io.h"
#include "base/json_io.h"
#include "engine/ops.h"
#include "models/save_weights.h"
#include "models/task_loss.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

namespace docbert::bert {

namespace {

using nlohmann::json;

constexpr const char* kWeight = "classifier.weight";
constexpr const char* kBias = "classifier.bias";

// The head's keys of a classifier config.json; the encoder's keys are BertConfig's.
struct HeadConfig {
  std::vector<std::string> labels;  // id2label
  ProblemType problem = ProblemType::SingleLabel;
  double dropout = -1;  // classifier_dropout; < 0 (null or absent): hidden_dropout_prob
};

HeadConfig read_head_config(const std::string& path) {
  json j = parse_json_object(read_file(path, "classifier config"), path);
  HeadConfig h;
  // HF omits id2label when it is its default {0: LABEL_0, 1: LABEL_1}, and num_labels always (it derives it).
  int64_t num_labels = -1;
  if (j.contains("num_labels")) {
    DOCBERT_CHECK(j["num_labels"].is_number_integer(), "{}: 'num_labels' must be an integer, got {}", path,
                  j["num_labels"].dump());
    num_labels = j["num_labels"].get<int64_t>();
  }
  if (j.contains("id2label")) {
    const json& m = j["id2label"];
    DOCBERT_CHECK(m.is_object() && !m.empty(), "{}: 'id2label' must be a non-empty object, got {}", path, m.dump());
    h.labels.resize(m.size());
    for (size_t i = 0; i < m.size(); ++i) {
      const std::string key = std::to_string(i);
      DOCBERT_CHECK(m.contains(key) && m[key].is_string(),
                    "{}: 'id2label' must map each of \"0\" .. \"{}\" to a label name, got {}", path, m.size() - 1,
                    m.dump());
      h.labels[i] = m[key].get<std::string>();
    }
    DOCBERT_CHECK(num_labels < 0 || num_labels == static_cast<int64_t>(h.labels.size()),
                  "{}: 'num_labels' is {} but 'id2label' has {} labels", path, num_labels, h.labels.size());
  } else {
    h.labels.resize(static_cast<size_t>(num_labels < 0 ? 2 : std::max<int64_t>(num_labels, 0)));
    for (size_t i = 0; i < h.labels.size(); ++i) h.labels[i] = "LABEL_" + std::to_string(i);
  }
  if (j.contains("label2id")) {
    const json& m = j["label2id"];
    bool inverse = m.is_object() && m.size() == h.labels.size();
    for (size_t i = 0; inverse && i < h.labels.size(); ++i)
      inverse = m.contains(h.labels[i]) && m[h.labels[i]] == static_cast<int64_t>(i);
    DOCBERT_CHECK(inverse, "{}: 'label2id' {} is not the inverse of 'id2label' {}", path, m.dump(),
                  json(h.labels).dump());
  }
  // HF infers the loss from the labels when problem_type is null: integer labels mean single-label.
  if (j.contains("problem_type") && !j["problem_type"].is_null()) {
    DOCBERT_CHECK(j["problem_type"].is_string(), "{}: 'problem_type' must be a string, got {}", path,
                  j["problem_type"].dump());
    h.problem = parse_problem_type(j["problem_type"].get<std::string>(), path);
  }
  if (j.contains("classifier_dropout") && !j["classifier_dropout"].is_null()) {
    DOCBERT_CHECK(j["classifier_dropout"].is_number(), "{}: 'classifier_dropout' must be a number or null, got {}",
                  path, j["classifier_dropout"].dump());
    h.dropout = j["classifier_dropout"].get<double>();
    DOCBERT_CHECK(h.dropout >= 0 && h.dropout < 1, "{}: 'classifier_dropout' must be in [0, 1), got {}", path,
                  h.dropout);
  }
  return h;
}

}  // namespace

BertClassifier::BertClassifier(BertModel bert, int64_t num_labels, ProblemType problem, std::vector<std::string> labels,
                               double classifier_dropout)
    : bert_(std::move(bert)), problem_(problem), labels_(std::move(labels)), classifier_dropout_(classifier_dropout) {
  DOCBERT_CHECK(num_labels >= 1, "BertClassifier: num_labels must be positive, got {}", num_labels);
  if (labels_.empty())
    for (int64_t i = 0; i < num_labels; ++i) labels_.push_back("LABEL_" + std::to_string(i));
  DOCBERT_CHECK(static_cast<int64_t>(labels_.size()) == num_labels,
                "BertClassifier: num_labels is {} but {} label names were given", num_labels, labels_.size());
  DOCBERT_CHECK(std::set<std::string>(labels_.begin(), labels_.end()).size() == labels_.size(),
                "BertClassifier: label names must be unique, got {}", fmt::join(labels_, ", "));
  params_.add_all("bert", bert_.params());
  const DType dt = bert_.dtype();
  cls_w_ = params_.add(kWeight, Tensor::zeros({num_labels, config().hidden_size}, dt));
  cls_b_ = params_.add(kBias, Tensor::zeros({num_labels}, dt));
}

BertClassifier::BertClassifier(const BertConfig& config, int64_t num_labels, ProblemType problem,
                               std::vector<std::string> labels, uint64_t seed, DType dtype)
    : BertClassifier(BertModel(config, seed, dtype), num_labels, problem, std::move(labels), -1) {
  init_head(seed);
}

void BertClassifier::init_head(uint64_t seed) {
  // Counters from 2^63 on: far past what the encoder's init takes from RngStream{seed, 0}, so one seed fixes
  // both without the head repeating the encoder's draws.
  RngStream rng{seed, uint64_t{1} << 63};
  normal_fill(cls_w_, 0, config().initializer_range, rng);
}

BertClassifier BertClassifier::from_pretrained_encoder(const std::string& dir, int64_t num_labels, ProblemType problem,
                                                       std::vector<std::string> labels, uint64_t seed,
                                                       ClassifierLoadReport* report, DType dtype) {
  LoadReport r;
  BertClassifier model(BertModel::from_pretrained(dir, &r, dtype), num_labels, problem, std::move(labels), -1);
  model.init_head(seed);
  if (report) *report = {r.loaded, {kWeight, kBias}, std::move(r.unused)};
  return model;
}

BertClassifier BertClassifier::from_pretrained(const std::string& dir, ClassifierLoadReport* report, DType dtype) {
  HeadConfig h = read_head_config(dir + "/config.json");
  LoadReport r;
  const int64_t K = static_cast<int64_t>(h.labels.size());
  BertClassifier model(BertModel::from_pretrained(dir, &r, dtype), K, h.problem, std::move(h.labels), h.dropout);

  // load_hf_weights filled the encoder and left the head among the unused tensors.
  const SafetensorsFile file = SafetensorsFile::open(dir + "/model.safetensors");
  std::vector<std::string> missing;
  for (const char* name : {kWeight, kBias}) {
    if (!file.contains(name)) {
      missing.push_back(name);
      continue;
    }
    const SafetensorsEntry& e = file.entry(name);
    const Shape& want = model.params_.get(name).shape();
    DOCBERT_CHECK(e.shape == want,
                  "{}: tensor '{}' has shape {} but the config's {} labels and hidden size {} make it {}", file.path(),
                  name, shape_str(e.shape), K, model.config().hidden_size, shape_str(want));
    DOCBERT_CHECK(e.dtype == "F32" || e.dtype == "F16" || e.dtype == "BF16" || e.dtype == "F64",
                  "{}: tensor '{}' has dtype {}; parameters load from F32, F16, BF16 or F64", file.path(), name,
                  e.dtype);
  }
  DOCBERT_CHECK(missing.empty(),
                "{}: no {}: not a sequence-classification checkpoint (use BertClassifier::from_pretrained_encoder to "
                "start a new head on a pretrained encoder)",
                file.path(), fmt::join(missing, ", "));
  for (const char* name : {kWeight, kBias}) {
    Tensor t = model.params_.get(name);
    t.copy_from(file.load(name, t.dtype()));
  }
  if (report) {
    report->loaded = r.loaded + 2;
    report->initialised.clear();
    report->unused.clear();
    for (std::string& n : r.unused)
      if (n != kWeight && n != kBias) report->unused.push_back(std::move(n));
  }
  return model;
}

void BertClassifier::save_pretrained(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  save_weights(dir + "/model.safetensors", params_);
  json j = json::parse(config().to_json());
  j["architectures"] = {"BertForSequenceClassification"};
  json id2label = json::object(), label2id = json::object();
  for (size_t i = 0; i < labels_.size(); ++i) {
    id2label[std::to_string(i)] = labels_[i];
    label2id[labels_[i]] = i;
  }
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  j["num_labels"] = labels_.size();
  j["problem_type"] = problem_type_name(problem_);
  j["classifier_dropout"] = classifier_dropout_ < 0 ? json(nullptr) : json(classifier_dropout_);
  write_file_atomic(dir + "/config.json", j.dump(2) + "\n", "model config");
}

void BertClassifier::to(Device device) {
  bert_.to(device);    // checks the dtype; moves the registry's "bert." entries, which are the same tensors
  params_.to(device);  // then only the head is left to move
}

Tensor BertClassifier::forward(const Tensor& ids, const Tensor& token_type_ids, const Tensor& attention_mask,
                               bool training, RngStream* rng) const {
  Tensor pooled = bert_.forward(ids, token_type_ids, attention_mask, training, rng).pooled;  // (B,C)
  const double p = classifier_dropout();
  if (training && p > 0) pooled = dropout(pooled, p, rng->seed, rng->take(static_cast<uint64_t>(pooled.numel())), true);
  return linear(pooled, cls_w_, cls_b_);  // (B,K)
}

Tensor BertClassifier::loss(const Tensor& logits, const Tensor& labels) const {
  return task_loss(problem_, logits, labels);
}

}  // namespace docbert::bert
