// models/bert/classifier.h: DocBERT's document classifier, HF's BertForSequenceClassification: the BERT encoder,
// dropout on its pooled [CLS] output and one linear layer to num_labels logits.
//
// The registry holds the encoder's parameters as "bert.<BertModel name>" followed by "classifier.weight" (K, C) and
// "classifier.bias" (K): exactly the state dict names of BertForSequenceClassification, so a checkpoint is a 1:1
// walk over params() in both directions and transformers loads what save_pretrained writes (checked by hand, see
// docs/pretrained.md).
#pragma once

#include "engine/parameters.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "models/bert/bert.h"
#include "models/bert/config.h"
#include "models/problem_type.h"

#include <cstdint>
#include <string>
#include <vector>

namespace docbert::bert {

using ::docbert::ProblemType;  // models/problem_type.h

// What a classifier load found.
struct ClassifierLoadReport {
  int64_t loaded = 0;                    // parameters copied from the file
  std::vector<std::string> initialised;  // parameters randomly initialised instead ("classifier.weight",
                                         // "classifier.bias" from from_pretrained_encoder; empty otherwise)
  std::vector<std::string> unused;       // file tensors matching no parameter, in file order (LoadReport::unused)
};

class BertClassifier {
 public:
  // A randomly initialised classifier. The encoder is exactly BertModel(config, seed, dtype); the head is
  // classifier.weight ~ N(0, config.initializer_range) (0.02 in DocBERT/hedwig and HF) and a zero bias.
  //   num_labels  K >= 1
  //   problem     picks the loss (see loss())
  //   labels      K label names (id2label), or empty for HF's defaults "LABEL_0" .. "LABEL_{K-1}"; names must be
  //               unique. A size other than K is an error.
  //   seed        fixes every value (encoder and head)
  //   dtype       f32 (training, inference) or f64 (gradient checks)
  BertClassifier(const BertConfig& config, int64_t num_labels, ProblemType problem, std::vector<std::string> labels,
                 uint64_t seed, DType dtype = DType::F32);

  // A pretrained encoder with a new, randomly initialised head: fine-tuning's starting point. Reads `dir` as
  // BertModel::from_pretrained does (a BertModel folder, or any Bert*For* folder: "bert." prefixes are stripped);
  // the head is initialised as in the constructor above from `seed`. The report lists "classifier.weight" and
  // "classifier.bias" as initialised, and the file's heads ("cls.*", an old "classifier.*") as unused.
  static BertClassifier from_pretrained_encoder(const std::string& dir, int64_t num_labels, ProblemType problem,
                                                std::vector<std::string> labels, uint64_t seed,
                                                ClassifierLoadReport* report = nullptr, DType dtype = DType::F32);

  // Reads a saved classifier: dir/config.json (the encoder's BertConfig plus id2label {"0": name, ...}, label2id,
  // problem_type, and optionally num_labels and classifier_dropout) and dir/model.safetensors, as written by
  // save_pretrained here or by transformers' BertForSequenceClassification. The label count is id2label's size;
  // errors: id2label missing or not exactly the keys "0" .. "K-1", label2id not its inverse, a num_labels that
  // differs, an unknown problem_type (absent or null means single-label, as HF does for integer labels), missing
  // encoder or classifier tensors, and a classifier.weight that is not (K, C).
  //   report  when given, receives what was loaded and what in the file was unused
  static BertClassifier from_pretrained(const std::string& dir, ClassifierLoadReport* report = nullptr,
                                        DType dtype = DType::F32);

  // Writes dir/model.safetensors (params() as they are named, each tensor in its own dtype, metadata format "pt")
  // and then dir/config.json (the encoder config with "architectures": ["BertForSequenceClassification"],
  // id2label, label2id, num_labels, problem_type and classifier_dropout). The folder is created when missing and
  // other files in it are kept; each file is written to a temporary name and renamed over the old one, so neither
  // is ever half-written. Works from any device (the weights are copied to the host for writing); the documented
  // path back is from_pretrained on the host, then to(device).
  void save_pretrained(const std::string& dir) const;

  // Moves the encoder and the head to `device` in place, as BertModel::to (handles follow, gradients are dropped,
  // f64 stays on the cpu); a no-op when they are there already.
  void to(Device device);
  // Where the parameters are, hence where forward() and loss() compute.
  Device device() const { return params_.device(); }

  // The logits.
  //   ids, token_type_ids, attention_mask, training, rng  as BertModel::forward: (B, T) ids, optional segment ids,
  //                   optional 1/0 padding mask; when training, dropout everywhere in the encoder and on the pooled
  //                   output, drawing counters from rng (required then; untouched otherwise); the index tensors
  //                   on the host or on device()
  // Returns (B, K) logits in the model's dtype on device(). Differentiable in every parameter.
  Tensor forward(const Tensor& ids, const Tensor& token_type_ids = Tensor(), const Tensor& attention_mask = Tensor(),
                 bool training = false, RngStream* rng = nullptr) const;

  // task_loss(problem_type(), logits, labels) (models/task_loss.h): cross-entropy over (B) class indices or BCE
  // over (B, K) multi-hot labels, HF's losses for the same problem_type; labels on the host or on device().
  //   logits  (B, K) from forward()
  Tensor loss(const Tensor& logits, const Tensor& labels) const;

  const BertModel& encoder() const { return bert_; }
  const BertConfig& config() const { return bert_.config(); }
  int64_t num_labels() const { return static_cast<int64_t>(labels_.size()); }
  ProblemType problem_type() const { return problem_; }
  const std::vector<std::string>& labels() const { return labels_; }  // id2label
  // The dropout on the pooled output: config.json's classifier_dropout, or hidden_dropout_prob when that is null.
  double classifier_dropout() const {
    return classifier_dropout_ < 0 ? config().hidden_dropout_prob : classifier_dropout_;
  }
  DType dtype() const { return bert_.dtype(); }
  ParameterRegistry& params() { return params_; }
  const ParameterRegistry& params() const { return params_; }

 private:
  // Registers `bert`'s parameters under "bert." and a zero head. classifier_dropout < 0 means hidden_dropout_prob.
  BertClassifier(BertModel bert, int64_t num_labels, ProblemType problem, std::vector<std::string> labels,
                 double classifier_dropout);
  // classifier.weight ~ N(0, initializer_range) from seed; the bias stays 0.
  void init_head(uint64_t seed);

  BertModel bert_;
  ProblemType problem_;
  std::vector<std::string> labels_;
  double classifier_dropout_;  // < 0: null in config.json, i.e. hidden_dropout_prob
  ParameterRegistry params_;
  Tensor cls_w_, cls_b_;  // (K,C), (K)
};

}  // namespace docbert::bert
