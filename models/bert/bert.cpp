#include "models/bert/bert.h"

#include "base/file_io.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/save_weights.h"

#include <filesystem>
#include <limits>
#include <map>

namespace docbert::bert {

namespace {

// dropout(x) for the hidden-size dropouts; reserves counters only when it draws.
Tensor hidden_dropout(const Tensor& x, double p, bool training, RngStream* rng) {
  if (!training || p == 0) return x;
  return dropout(x, p, rng->seed, rng->take(static_cast<uint64_t>(x.numel())), true);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The parameter a checkpoint tensor fills, or "" when none: the name itself, without a task model's "bert."
// prefix, and with a TF-converted checkpoint's LayerNorm gamma/beta spelled weight/bias.
std::string param_name(std::string n, const ParameterRegistry& params) {
  if (n.rfind("bert.", 0) == 0) n.erase(0, 5);
  if (ends_with(n, "LayerNorm.gamma")) n.replace(n.size() - 5, 5, "weight");
  if (ends_with(n, "LayerNorm.beta")) n.replace(n.size() - 4, 4, "bias");
  return params.contains(n) ? n : "";
}

}  // namespace

BertModel::BertModel(const BertConfig& config, DType dtype) : config_(config), dtype_(dtype) {
  DOCBERT_CHECK(dtype == DType::F32 || dtype == DType::F64, "BertModel: dtype must be f32 or f64, got {}",
                dtype_name(dtype));
  config_.validate("BertModel config");
  const int64_t C = config_.hidden_size, I = config_.intermediate_size;
  const auto add = [&](const std::string& name, const Shape& shape) {
    return params_.add(name, Tensor::zeros(shape, dtype_));
  };
  const auto add_layer_norm = [&](const std::string& prefix, Tensor& w, Tensor& b) {
    w = params_.add(prefix + ".weight", Tensor::full({C}, 1.0, dtype_));
    b = add(prefix + ".bias", {C});
  };
  word_emb_ = add("embeddings.word_embeddings.weight", {config_.vocab_size, C});
  pos_emb_ = add("embeddings.position_embeddings.weight", {config_.max_position_embeddings, C});
  type_emb_ = add("embeddings.token_type_embeddings.weight", {config_.type_vocab_size, C});
  add_layer_norm("embeddings.LayerNorm", emb_ln_w_, emb_ln_b_);
  layers_.resize(static_cast<size_t>(config_.num_hidden_layers));
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& l = layers_[i];
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    l.q_w = add(p + "attention.self.query.weight", {C, C});
    l.q_b = add(p + "attention.self.query.bias", {C});
    l.k_w = add(p + "attention.self.key.weight", {C, C});
    l.k_b = add(p + "attention.self.key.bias", {C});
    l.v_w = add(p + "attention.self.value.weight", {C, C});
    l.v_b = add(p + "attention.self.value.bias", {C});
    l.attn_out_w = add(p + "attention.output.dense.weight", {C, C});
    l.attn_out_b = add(p + "attention.output.dense.bias", {C});
    add_layer_norm(p + "attention.output.LayerNorm", l.attn_ln_w, l.attn_ln_b);
    l.ffn_in_w = add(p + "intermediate.dense.weight", {I, C});
    l.ffn_in_b = add(p + "intermediate.dense.bias", {I});
    l.ffn_out_w = add(p + "output.dense.weight", {C, I});
    l.ffn_out_b = add(p + "output.dense.bias", {C});
    add_layer_norm(p + "output.LayerNorm", l.ffn_ln_w, l.ffn_ln_b);
  }
  pooler_w_ = add("pooler.dense.weight", {C, C});
  pooler_b_ = add("pooler.dense.bias", {C});
}

BertModel::BertModel(const BertConfig& config, uint64_t seed, DType dtype) : BertModel(config, dtype) {
  NoGradGuard no_grad;  // the pad-row view below must not leave a node on the tape
  RngStream rng{seed, 0};
  for (const NamedTensor& p : params_.all()) {
    if (ends_with(p.name, ".bias") || ends_with(p.name, "LayerNorm.weight")) continue;  // keep 0 and 1
    Tensor t = p.tensor;
    normal_fill(t, 0, config_.initializer_range, rng);
  }
  if (config_.pad_token_id >= 0) word_emb_.slice_rows(config_.pad_token_id, config_.pad_token_id + 1).fill(0);
}

BertModel BertModel::from_pretrained(const std::string& dir, LoadReport* report, DType dtype) {
  const std::string weights = dir + "/model.safetensors";
  DOCBERT_CHECK(std::filesystem::exists(weights),
                "{}: not found; BertModel::from_pretrained reads safetensors checkpoints only (re-save a "
                "pytorch_model.bin with transformers' save_pretrained(dir, safe_serialization=True))",
                weights);
  BertModel model(BertConfig::from_json_file(dir + "/config.json"), dtype);
  LoadReport r = load_hf_weights(model, weights);
  if (report) *report = std::move(r);
  return model;
}

void BertModel::save_pretrained(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/config.json", config_.to_json(), "model config");
  save_weights(dir + "/model.safetensors", params_);
}

void BertModel::to(Device device) {
  DOCBERT_CHECK(device == Device::CPU || dtype_ == DType::F32,
                "BertModel::to: {} models stay on the cpu (cuda computes in f32)", dtype_name(dtype_));
  params_.to(device);
}

Tensor BertModel::layer_forward(const Layer& l, const Tensor& x, const Tensor& mask_add, bool training,
                                RngStream* rng) const {
  const int64_t B = x.size(0), T = x.size(1), NH = config_.num_attention_heads;
  // self-attention sub-layer: HF's separate q/k/v projections as one fused GEMM.
  const Tensor qkv_w = concat({l.q_w, l.k_w, l.v_w}, 0);  // (3C,C)
  const Tensor qkv_b = concat({l.q_b, l.k_b, l.v_b}, 0);  // (3C)
  const Tensor qkv = linear(x, qkv_w, qkv_b);             // (B,T,3C)
  const double attn_p = config_.attention_probs_dropout_prob;
  const uint64_t attn_offset = training && attn_p > 0 ? rng->take(static_cast<uint64_t>(B * NH * T * T)) : 0;
  Tensor a = self_attention(qkv, mask_add, NH, attn_p, training ? rng->seed : 0, attn_offset, training);  // (B,T,C)
  a = hidden_dropout(linear(a, l.attn_out_w, l.attn_out_b), config_.hidden_dropout_prob, training, rng);
  const Tensor h = layer_norm(add(a, x), l.attn_ln_w, l.attn_ln_b, config_.layer_norm_eps);  // (B,T,C), post-LN
  // feed-forward sub-layer
  Tensor f = gelu(linear(h, l.ffn_in_w, l.ffn_in_b), config_.hidden_act);                               // (B,T,I)
  f = hidden_dropout(linear(f, l.ffn_out_w, l.ffn_out_b), config_.hidden_dropout_prob, training, rng);  // (B,T,C)
  return layer_norm(add(f, h), l.ffn_ln_w, l.ffn_ln_b, config_.layer_norm_eps);
}

BertOutput BertModel::forward(const Tensor& ids, const Tensor& token_type_ids, const Tensor& attention_mask,
                              bool training, RngStream* rng) const {
  const char* op = "BertModel::forward";
  check_index(op, "ids", ids);
  check_dim(op, "ids", ids, 2);
  const int64_t B = ids.size(0), T = ids.size(1), C = config_.hidden_size;
  DOCBERT_CHECK(T >= 1 && T <= config_.max_position_embeddings,
                "{}: sequence length {} of 'ids' {} must lie in [1, max_position_embeddings = {}]", op, T,
                shape_str(ids.shape()), config_.max_position_embeddings);
  DOCBERT_CHECK(!training || rng, "{}: training needs a dropout RngStream", op);
  if (token_type_ids.defined()) {
    check_index(op, "token_type_ids", token_type_ids);
    DOCBERT_CHECK(token_type_ids.shape() == ids.shape(), "{}: 'token_type_ids' is {} but 'ids' is {}", op,
                  shape_str(token_type_ids.shape()), shape_str(ids.shape()));
  }
  Tensor mask_add;  // (B,T) additive over keys
  if (attention_mask.defined()) {
    DOCBERT_CHECK(attention_mask.shape() == ids.shape(), "{}: 'attention_mask' is {} but 'ids' is {}", op,
                  shape_str(attention_mask.shape()), shape_str(ids.shape()));
    // Built on the host from the checked values, then uploaded (B*T values: no device kernel needed).
    const std::vector<int64_t> keep = read_indices(op, "attention_mask", attention_mask, 0, 2);
    mask_add = Tensor::empty({B, T}, dtype_);
    dispatch_float(dtype_, op, [&](auto zero) {
      using F = decltype(zero);
      F* m = mask_add.data<F>();
      for (size_t i = 0; i < keep.size(); ++i) m[i] = keep[i] ? F(0) : std::numeric_limits<F>::lowest();
    });
    const Device device = this->device();
    if (device != Device::CPU) mask_add = mask_add.to(device);
  }

  // embeddings, summed in HF's order: (word + token type) + position
  Tensor x = embedding(ids, word_emb_);                                            // (B,T,C)
  x = add(x, token_type_ids.defined() ? embedding(token_type_ids, type_emb_)       // (B,T,C)
                                      : type_emb_.slice_rows(0, 1).reshape({C}));  // (C): all ids 0
  x = add(x, pos_emb_.slice_rows(0, T));                                           // (T,C) broadcast over the batch
  x = layer_norm(x, emb_ln_w_, emb_ln_b_, config_.layer_norm_eps);
  x = hidden_dropout(x, config_.hidden_dropout_prob, training, rng);
  for (const Layer& l : layers_) x = layer_forward(l, x, mask_add, training, rng);

  const Tensor cls = slice(x, 1, 0, 1).reshape({B, C});  // (B,C) the first ([CLS]) token
  return {x, tanh(linear(cls, pooler_w_, pooler_b_))};
}

LoadReport load_hf_weights(BertModel& model, const SafetensorsFile& file) {
  const ParameterRegistry& params = model.params();
  LoadReport report;
  std::map<std::string, const SafetensorsEntry*> source;  // parameter name -> its file tensor
  for (const SafetensorsEntry& e : file.entries()) {
    const std::string name = param_name(e.name, params);
    if (name.empty()) {
      report.unused.push_back(e.name);
      continue;
    }
    const auto [it, fresh] = source.emplace(name, &e);
    DOCBERT_CHECK(fresh, "{}: tensors '{}' and '{}' both hold parameter '{}'", file.path(), it->second->name, e.name,
                  name);
    const Shape& want = params.get(name).shape();
    DOCBERT_CHECK(e.shape == want, "{}: tensor '{}' has shape {} but parameter '{}' is {} in this config", file.path(),
                  e.name, shape_str(e.shape), name, shape_str(want));
    DOCBERT_CHECK(e.dtype == "F32" || e.dtype == "F16" || e.dtype == "BF16" || e.dtype == "F64",
                  "{}: tensor '{}' has dtype {}; parameters load from F32, F16, BF16 or F64", file.path(), e.name,
                  e.dtype);
  }
  std::vector<std::string> missing;
  for (const NamedTensor& p : params.all())
    if (!source.count(p.name)) missing.push_back(p.name);
  DOCBERT_CHECK(missing.empty(),
                "{}: {} of the model's {} parameters are missing (looked up as is, with a 'bert.' prefix and with "
                "LayerNorm gamma/beta): {}",
                file.path(), missing.size(), params.size(), fmt::join(missing, ", "));
  for (const NamedTensor& p : params.all()) {
    Tensor t = p.tensor;
    t.copy_from(file.load(source.at(p.name)->name, t.dtype()));
    ++report.loaded;
  }
  return report;
}

LoadReport load_hf_weights(BertModel& model, const std::string& path) {
  return load_hf_weights(model, SafetensorsFile::open(path));
}

}  // namespace docbert::bert
