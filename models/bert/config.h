// models/bert/config.h: the BERT encoder's hyper-parameters, read from an HF config.json or taken from a preset.
//
// Field names and defaults are HF's BertConfig (transformers/models/bert/configuration_bert.py), so a
// checkpoint directory's config.json describes the same network here as in transformers.
#pragma once

#include "engine/ops/elementwise.h"

#include <cstdint>
#include <string>

namespace docbert::bert {

struct BertConfig {
  int64_t vocab_size = 30522;           // V: rows of the word-embedding table
  int64_t hidden_size = 768;            // C
  int64_t num_hidden_layers = 12;       // encoder layers
  int64_t num_attention_heads = 12;     // NH; C must be a multiple
  int64_t intermediate_size = 3072;     // feed-forward width (4C in every released BERT)
  GeluKind hidden_act = GeluKind::Erf;  // "gelu" -> Erf; "gelu_new" / "gelu_pytorch_tanh" -> Tanh
  double hidden_dropout_prob = 0.1;     // embeddings, attention output and feed-forward output
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;  // longest T forward accepts
  int64_t type_vocab_size = 2;            // segment ids in [0, type_vocab_size)
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;         // its word-embedding row starts at zero in a random init (as in HF);
                                    // -1 (null in JSON): no such row
  double initializer_range = 0.02;  // stddev of the random init

  // Reads an HF config.json. The five sizes (vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
  // intermediate_size) are required; every other key falls back to HF's default above. Keys this encoder does
  // not model are ignored, except ones that would change its function: "model_type" must be "bert",
  // "position_embedding_type" "absolute", and "hidden_act" one of the GELUs above. Every error names the file
  // and the key. The result is validated.
  static BertConfig from_json_file(const std::string& path);
  // The same from JSON text; `source` names it in errors (a path, or "<string>").
  static BertConfig from_json(const std::string& text, const std::string& source);

  // A randomly initialised size: "tiny" (2 layers, C 128, 2 heads, FFN 512), "mini" (4/256/4/1024),
  // "small" (4/512/8/2048), "base" (12/768/12/3072) or "large" (24/1024/16/4096); the rest are HF defaults.
  static BertConfig preset(const std::string& name, int64_t vocab_size = 30522);

  // The config as HF config.json text ("architectures": ["BertModel"], "model_type": "bert", every field above),
  // which from_json and transformers both read back to the same config.
  std::string to_json() const;

  // Throws naming `source` and the offending key: positive sizes, C a multiple of NH, dropouts in [0, 1),
  // eps and initializer_range positive, pad_token_id -1 or inside the vocabulary.
  void validate(const std::string& source) const;

  int64_t head_size() const { return hidden_size / num_attention_heads; }  // HS = C / NH
};

}  // namespace docbert::bert
