// models/lstm_reg/config.h: the hyper-parameters of LSTM_reg (Adhikari et al., NAACL 2019; hedwig's
// models/reg_lstm), DocBERT's student, as one config.json.
//
// Defaults are hedwig's README command for Reuters (embed 300, hidden 512, bidirectional, dropout 0.5,
// embed-droprate 0.2, wdrop 0.1, tar = ar = 0). The file is strict: every key must be one of the fields below
// (plus "model_type": "lstm_reg"), so a typo never silently falls back to a default.
#pragma once

#include "models/problem_type.h"

#include <cstdint>
#include <string>
#include <vector>

namespace docbert::lstm_reg {

// Which directions of the BiLSTM get DropConnect on their hidden-to-hidden weights.
enum class WdropDirections {
  Both,     // weight_hh_l0 and weight_hh_l0_reverse: the regulariser as the paper describes it
  Forward,  // weight_hh_l0 only: hedwig's quirk (its WeightDrop names 'weight_hh_l0', which in a bidirectional
            // nn.LSTM is the forward direction's matrix alone)
};
const char* wdrop_directions_name(WdropDirections d);  // "both", "forward"
// The inverse; anything else throws naming `source` and the accepted values.
WdropDirections parse_wdrop_directions(const std::string& name, const std::string& source);

struct LstmRegConfig {
  int64_t vocab_size = 0;                               // V: rows of embed.weight (required in config.json)
  int64_t embed_dim = 300;                              // E: word-vector size (word2vec GoogleNews: 300)
  int64_t hidden = 512;                                 // H: LSTM hidden size per direction
  bool bidirectional = true;                            // D = 2 directions when true, 1 otherwise
  int64_t num_labels = 0;                               // K: classes or labels (required in config.json)
  ProblemType problem_type = ProblemType::SingleLabel;  // softmax CE or per-label sigmoid BCE
  std::vector<std::string> labels;  // id2label: K unique names, or empty for "LABEL_0" .. "LABEL_{K-1}"
  double dropout = 0.5;             // on the max-pooled (D*H) vector, before fc1 (hedwig --dropout)
  double embed_droprate = 0.2;      // word-type dropout on the embedding rows (hedwig --embed-droprate)
  double wdrop = 0.1;               // DropConnect on the hidden-to-hidden weights (hedwig --wdrop)
  WdropDirections wdrop_directions = WdropDirections::Both;
  bool freeze_embeddings =
      false;           // embed.weight gets no gradient (hedwig --mode static); still dropped, and EMA-averaged
  double tar = 0;      // temporal activation regularisation weight: tar * mean((h_{t+1} - h_t)^2)
  double ar = 0;       // activation regularisation weight: ar * mean(h^2)
  int64_t pad_id = 0;  // the [PAD] row of embed.weight (0 in WordVocab and BERT vocabularies), zeroed by every
                       // initialiser; -1: no such row

  // Reads config.json text. vocab_size and num_labels are required, every other field falls back to the default
  // above; an unknown key, a value of the wrong JSON type, or a "model_type" other than "lstm_reg" is an error
  // naming `source` (a path, or "<string>") and the key. The result is validated.
  static LstmRegConfig from_json(const std::string& text, const std::string& source);
  // The same from a file; errors name `path`.
  static LstmRegConfig from_json_file(const std::string& path);
  // Every field, plus "model_type": "lstm_reg"; from_json reads it back to the same config.
  std::string to_json() const;

  // Throws naming `source` and the key: positive sizes, dropouts in [0, 1), tar and ar >= 0, pad_id -1 or in
  // [0, V), labels empty or K unique names.
  void validate(const std::string& source) const;

  int64_t directions() const { return bidirectional ? 2 : 1; }  // D
};

}  // namespace docbert::lstm_reg
