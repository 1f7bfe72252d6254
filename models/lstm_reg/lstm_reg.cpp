#include "models/lstm_reg/lstm_reg.h"

#include "base/file_io.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "models/lstm_reg/embeddings_init.h"
#include "models/save_weights.h"
#include "models/task_loss.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace docbert::lstm_reg {

namespace {

// dropout(x) when training with p > 0; reserves counters only when it draws.
Tensor train_dropout(const Tensor& x, double p, bool training, RngStream* rng) {
  if (!training || p == 0) return x;
  return dropout(x, p, rng->seed, rng->take(static_cast<uint64_t>(x.numel())), true);
}

}  // namespace

LstmReg::LstmReg(const LstmRegConfig& config, DType dtype) : config_(config), dtype_(dtype) {
  DOCBERT_CHECK(dtype == DType::F32 || dtype == DType::F64, "LstmReg: dtype must be f32 or f64, got {}",
                dtype_name(dtype));
  config_.validate("LstmReg config");
  if (config_.labels.empty())
    for (int64_t k = 0; k < config_.num_labels; ++k) config_.labels.push_back("LABEL_" + std::to_string(k));
  const int64_t E = config_.embed_dim, H = config_.hidden, G = 4 * H, D = config_.directions();
  const auto add = [&](const std::string& name, const Shape& shape) {
    return params_.add(name, Tensor::zeros(shape, dtype_));
  };
  embed_ = add("embed.weight", {config_.vocab_size, E});
  if (config_.freeze_embeddings) embed_.set_requires_grad(false);
  for (int64_t d = 0; d < D; ++d) {
    const std::string suffix = d == 0 ? "_l0" : "_l0_reverse";
    dirs_.push_back({add("lstm.weight_ih" + suffix, {G, E}), add("lstm.weight_hh" + suffix, {G, H}),
                     add("lstm.bias_ih" + suffix, {G}), add("lstm.bias_hh" + suffix, {G})});
  }
  fc_w_ = add("fc1.weight", {config_.num_labels, D * H});
  fc_b_ = add("fc1.bias", {config_.num_labels});
}

LstmReg::LstmReg(const LstmRegConfig& config, uint64_t seed, DType dtype) : LstmReg(config, dtype) {
  RngStream rng{seed, 0};
  init_random_embeddings(embed_, rng, config_.pad_id);
  const double lstm_bound = 1 / std::sqrt(static_cast<double>(config_.hidden));
  const double fc_bound = 1 / std::sqrt(static_cast<double>(fc_w_.size(1)));
  for (const NamedTensor& p : params_.all()) {
    if (p.tensor.same_as(embed_)) continue;
    Tensor t = p.tensor;
    const double bound = p.name.rfind("lstm.", 0) == 0 ? lstm_bound : fc_bound;
    uniform_fill(t, -bound, bound, rng);
  }
}

LstmReg LstmReg::from_pretrained(const std::string& dir, DType dtype) {
  LstmReg model(LstmRegConfig::from_json_file(dir + "/config.json"), dtype);
  const SafetensorsFile file = SafetensorsFile::open(dir + "/model.safetensors");
  std::vector<std::string> missing, unknown;
  for (const NamedTensor& p : model.params_.all()) {
    if (!file.contains(p.name)) {
      missing.push_back(p.name);
      continue;
    }
    const SafetensorsEntry& e = file.entry(p.name);
    DOCBERT_CHECK(e.shape == p.tensor.shape(), "{}: tensor '{}' has shape {} but config.json makes it {}", file.path(),
                  p.name, shape_str(e.shape), shape_str(p.tensor.shape()));
    DOCBERT_CHECK(e.dtype == "F32" || e.dtype == "F16" || e.dtype == "BF16" || e.dtype == "F64",
                  "{}: tensor '{}' has dtype {}; parameters load from F32, F16, BF16 or F64", file.path(), p.name,
                  e.dtype);
  }
  for (const SafetensorsEntry& e : file.entries())
    if (!model.params_.contains(e.name)) unknown.push_back(e.name);
  DOCBERT_CHECK(missing.empty(), "{}: missing LSTM_reg tensors: {}", file.path(), fmt::join(missing, ", "));
  DOCBERT_CHECK(unknown.empty(), "{}: tensors an LSTM_reg model with this config.json does not have: {}", file.path(),
                fmt::join(unknown, ", "));
  for (const NamedTensor& p : model.params_.all()) {
    Tensor t = p.tensor;
    t.copy_from(file.load(p.name, dtype));
  }
  return model;
}

void LstmReg::save_pretrained(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  save_weights(dir + "/model.safetensors", params_);
  write_file_atomic(dir + "/config.json", config_.to_json(), "model config");
}

void LstmReg::to(Device device) {
  DOCBERT_CHECK(device == Device::CPU || dtype_ == DType::F32,
                "LstmReg::to: {} models stay on the cpu (cuda computes in f32)", dtype_name(dtype_));
  params_.to(device);
}

Tensor LstmReg::embed(const Tensor& ids, bool training, RngStream* rng) const {
  Tensor x = embedding(ids, embed_);
  const double p = config_.embed_droprate;
  if (!training || p == 0) return x;
  DOCBERT_CHECK(rng, "LstmReg::embed: training needs a dropout RngStream");
  const int64_t V = config_.vocab_size, E = config_.embed_dim;
  // One draw per word type, with the dropout op's mask convention: row_scale[v] is 0 or 1/(1-p). Drawn on the host
  // (the same Philox words as on a device), where the factors below are built.
  const Tensor row_scale =
      dropout(Tensor::full({V}, 1.0, dtype_), p, rng->seed, rng->take(static_cast<uint64_t>(V)), true);
  // hedwig multiplies the whole (V, E) table by the row mask and looks the ids up in the product; scaling each
  // looked-up vector by its word's factor gives the same values and the same table gradient (row v gets
  // row_scale[v] times the sum over its occurrences) at B*T*E instead of V*E work per batch.
  const std::vector<int64_t> words = read_indices("LstmReg::embed", "ids", ids, 0, V);  // the host's copy
  Tensor factor = Tensor::empty(x.shape(), dtype_);
  dispatch_float(dtype_, "LstmReg::embed", [&](auto tag) {
    using T = decltype(tag);
    const T* s = row_scale.data<T>();
    T* f = factor.data<T>();
    for (size_t n = 0; n < words.size(); ++n) std::fill_n(f + static_cast<int64_t>(n) * E, E, s[words[n]]);
  });
  const Device device = this->device();
  return mul(x, device == Device::CPU ? factor : factor.to(device));
}

LstmRegOutput LstmReg::forward(const Tensor& ids, const Tensor& lengths, bool training, RngStream* rng) const {
  const char* op = "LstmReg::forward";
  DOCBERT_CHECK(!training || rng, "{}: training needs a dropout RngStream", op);
  check_dim(op, "ids", ids, 2);
  check_dim(op, "lengths", lengths, 1);
  const int64_t B = ids.size(0), T = ids.size(1);
  DOCBERT_CHECK(lengths.size(0) == B, "{}: 'lengths' {} must have one entry per row of 'ids' {}", op,
                shape_str(lengths.shape()), shape_str(ids.shape()));
  const std::vector<int64_t> lens = read_indices(op, "lengths", lengths, 1, T + 1);
  // pad_packed_sequence pads to the longest document, so hedwig's rnn_outs (and with them the TAR/AR means) have
  // max(lengths) steps; columns past it are padding in every row and are dropped before anything is computed.
  const int64_t T_max = *std::max_element(lens.begin(), lens.end());
  const Tensor x = embed(T_max < T ? slice(ids, 1, 0, T_max) : ids, training, rng);  // (B,T',E)

  std::vector<Tensor> outs;
  for (size_t d = 0; d < dirs_.size(); ++d) {
    const Direction& w = dirs_[d];
    const bool drop = d == 0 || config_.wdrop_directions == WdropDirections::Both;
    const Tensor w_hh = train_dropout(w.w_hh, drop ? config_.wdrop : 0, training, rng);  // DropConnect
    outs.push_back(lstm_layer(x, lengths, w.w_ih, w_hh, w.b_ih, w.b_hh, d == 1).out);    // (B,T',H)
  }
  LstmRegOutput out;
  out.rnn_out = outs.size() == 1 ? outs[0] : concat(outs, -1);  // (B,T',D*H)
  // ReLU keeps padding's zeros from winning a max in hedwig; masked_max_pool never reads them anyway.
  const Tensor pooled = masked_max_pool(relu(out.rnn_out), lengths);                         // (B,D*H)
  out.logits = linear(train_dropout(pooled, config_.dropout, training, rng), fc_w_, fc_b_);  // (B,K)
  return out;
}

Tensor LstmReg::task_loss(const Tensor& logits, const Tensor& labels) const {
  return docbert::task_loss(config_.problem_type, logits, labels);  // the member hides the free function
}

Tensor LstmReg::regularization(const LstmRegOutput& out) const {
  const Tensor& h = out.rnn_out;
  Tensor total = Tensor::scalar(0, dtype_, h.device());
  const int64_t T = h.size(1);
  if (config_.tar > 0 && T > 1) total = add(total, scale(mse(slice(h, 1, 1, T), slice(h, 1, 0, T - 1)), config_.tar));
  if (config_.ar > 0) total = add(total, scale(mse(h, Tensor::zeros(h.shape(), h.dtype(), h.device())), config_.ar));
  return total;
}

Tensor LstmReg::loss(const LstmRegOutput& out, const Tensor& labels) const {
  const Tensor task = task_loss(out.logits, labels);
  return config_.tar > 0 || config_.ar > 0 ? add(task, regularization(out)) : task;
}

int64_t LstmReg::num_parameters(bool include_embeddings) const {
  return params_.numel() - (include_embeddings ? 0 : embed_.numel());
}

}  // namespace docbert::lstm_reg
