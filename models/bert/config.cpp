#include "models/bert/config.h"

#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"

#include <nlohmann/json.hpp>


namespace docbert::bert {

namespace {

using nlohmann::json;

int64_t read_int(const json& j, const std::string& source, const char* key, int64_t fallback, bool required) {
  if (!j.contains(key)) {
    DOCBERT_CHECK(!required, "{}: missing required key '{}'", source, key);
    return fallback;
  }
  DOCBERT_CHECK(j[key].is_number_integer(), "{}: '{}' must be an integer, got {}", source, key, j[key].dump());
  return j[key].get<int64_t>();
}

double read_double(const json& j, const std::string& source, const char* key, double fallback) {
  if (!j.contains(key)) return fallback;
  DOCBERT_CHECK(j[key].is_number(), "{}: '{}' must be a number, got {}", source, key, j[key].dump());
  return j[key].get<double>();
}

// A string-valued key that must take one of a few values when present; returns "" when absent.
std::string read_string(const json& j, const std::string& source, const char* key) {
  if (!j.contains(key)) return "";
  DOCBERT_CHECK(j[key].is_string(), "{}: '{}' must be a string, got {}", source, key, j[key].dump());
  return j[key].get<std::string>();
}

const char* act_name(GeluKind k) { return k == GeluKind::Erf ? "gelu" : "gelu_new"; }

}  // namespace

BertConfig BertConfig::from_json(const std::string& text, const std::string& source) {
  json j = parse_json_object(text, source);

  const std::string model_type = read_string(j, source, "model_type");
  DOCBERT_CHECK(model_type.empty() || model_type == "bert", "{}: 'model_type' is '{}'; this encoder is 'bert'", source,
                model_type);
  const std::string position = read_string(j, source, "position_embedding_type");
  DOCBERT_CHECK(position.empty() || position == "absolute",
                "{}: 'position_embedding_type' is '{}'; only 'absolute' is implemented", source, position);

  BertConfig c;
  c.vocab_size = read_int(j, source, "vocab_size", 0, true);
  c.hidden_size = read_int(j, source, "hidden_size", 0, true);
  c.num_hidden_layers = read_int(j, source, "num_hidden_layers", 0, true);
  c.num_attention_heads = read_int(j, source, "num_attention_heads", 0, true);
  c.intermediate_size = read_int(j, source, "intermediate_size", 0, true);
  const std::string act = read_string(j, source, "hidden_act");
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") {
    c.hidden_act = GeluKind::Tanh;
  } else {
    DOCBERT_CHECK(act.empty() || act == "gelu",
                  "{}: 'hidden_act' is '{}'; expected gelu, gelu_new or gelu_pytorch_tanh", source, act);
  }
  c.hidden_dropout_prob = read_double(j, source, "hidden_dropout_prob", c.hidden_dropout_prob);
  c.attention_probs_dropout_prob =
      read_double(j, source, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  c.max_position_embeddings = read_int(j, source, "max_position_embeddings", c.max_position_embeddings, false);
  c.type_vocab_size = read_int(j, source, "type_vocab_size", c.type_vocab_size, false);
  c.layer_norm_eps = read_double(j, source, "layer_norm_eps", c.layer_norm_eps);
  if (j.contains("pad_token_id") && j["pad_token_id"].is_null()) {
    c.pad_token_id = -1;
  } else {
    c.pad_token_id = read_int(j, source, "pad_token_id", c.pad_token_id, false);
  }
  c.initializer_range = read_double(j, source, "initializer_range", c.initializer_range);
  c.validate(source);
  return c;
}

BertConfig BertConfig::from_json_file(const std::string& path) {
  return from_json(read_file(path, "BERT config"), path);
}

BertConfig BertConfig::preset(const std::string& name, int64_t vocab_size) {
  struct Size {
    const char* name;
    int64_t layers, hidden, heads, intermediate;
  };
  static constexpr Size kSizes[] = {{"tiny", 2, 128, 2, 512},
                                    {"mini", 4, 256, 4, 1024},
                                    {"small", 4, 512, 8, 2048},
                                    {"base", 12, 768, 12, 3072},
                                    {"large", 24, 1024, 16, 4096}};
  for (const Size& s : kSizes) {
    if (name != s.name) continue;
    BertConfig c;
    c.vocab_size = vocab_size;
    c.num_hidden_layers = s.layers;
    c.hidden_size = s.hidden;
    c.num_attention_heads = s.heads;
    c.intermediate_size = s.intermediate;
    c.validate("preset '" + name + "'");
    return c;
  }
  DOCBERT_THROW("unknown BERT preset '{}' (expected tiny, mini, small, base or large)", name);
}

std::string BertConfig::to_json() const {
  const json j = {{"architectures", {"BertModel"}},
                  {"model_type", "bert"},
                  {"vocab_size", vocab_size},
                  {"hidden_size", hidden_size},
                  {"num_hidden_layers", num_hidden_layers},
                  {"num_attention_heads", num_attention_heads},
                  {"intermediate_size", intermediate_size},
                  {"hidden_act", act_name(hidden_act)},
                  {"hidden_dropout_prob", hidden_dropout_prob},
                  {"attention_probs_dropout_prob", attention_probs_dropout_prob},
                  {"max_position_embeddings", max_position_embeddings},
                  {"type_vocab_size", type_vocab_size},
                  {"layer_norm_eps", layer_norm_eps},
                  {"pad_token_id", pad_token_id >= 0 ? json(pad_token_id) : json(nullptr)},
                  {"initializer_range", initializer_range},
                  {"position_embedding_type", "absolute"}};
  return j.dump(2) + "\n";
}

void BertConfig::validate(const std::string& source) const {
  const std::pair<const char*, int64_t> sizes[] = {{"vocab_size", vocab_size},
                                                   {"hidden_size", hidden_size},
                                                   {"num_hidden_layers", num_hidden_layers},
                                                   {"num_attention_heads", num_attention_heads},
                                                   {"intermediate_size", intermediate_size},
                                                   {"max_position_embeddings", max_position_embeddings},
                                                   {"type_vocab_size", type_vocab_size}};
  for (const auto& [key, value] : sizes)
    DOCBERT_CHECK(value > 0, "{}: '{}' must be positive, got {}", source, key, value);
  DOCBERT_CHECK(hidden_size % num_attention_heads == 0,
                "{}: 'hidden_size' ({}) must be a multiple of 'num_attention_heads' ({})", source, hidden_size,
                num_attention_heads);
  const std::pair<const char*, double> probs[] = {{"hidden_dropout_prob", hidden_dropout_prob},
                                                  {"attention_probs_dropout_prob", attention_probs_dropout_prob}};
  for (const auto& [key, p] : probs)
    DOCBERT_CHECK(p >= 0 && p < 1, "{}: '{}' must be in [0, 1), got {}", source, key, p);
  DOCBERT_CHECK(layer_norm_eps > 0, "{}: 'layer_norm_eps' must be positive, got {}", source, layer_norm_eps);
  DOCBERT_CHECK(initializer_range > 0, "{}: 'initializer_range' must be positive, got {}", source, initializer_range);
  DOCBERT_CHECK(pad_token_id >= -1 && pad_token_id < vocab_size,
                "{}: 'pad_token_id' ({}) must be null or lie in [0, 'vocab_size' = {})", source, pad_token_id,
                vocab_size);
}

}  // namespace docbert::bert
