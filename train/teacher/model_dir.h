// train/teacher/model_dir.h: a teacher's model folder (best/, a checkpoint's model/) and the label mapping between a
// loaded teacher and a dataset.
#pragma once

#include "models/bert/classifier.h"
#include "tokenizer/wordpiece.h"

#include <cstdint>
#include <string>
#include <vector>

namespace docbert::train {

// Writes an HF BertForSequenceClassification folder plus what a tokenizer needs (vocab.txt, tokenizer_config.json
// with the tokenizer's options and model_max_length), so docbert_predict and transformers read the folder alone.
//   model           the classifier (save_pretrained)
//   tokenizer       its options go into tokenizer_config.json
//   vocab_text      vocab.txt's bytes, read once when the run starts: the file the tokenizer came from may be in a
//                   checkpoint that a later save prunes
//   max_seq_length  the training length, saved as model_max_length (docbert_predict's default length)
//   dir             created when missing; each file is replaced atomically
void save_model_dir(const bert::BertClassifier& model, const tok::WordPiece& tokenizer, const std::string& vocab_text,
                    int64_t max_seq_length, const std::string& dir);

// The model's label id of each dataset label (Dataset::label_names), matched by name: a loaded model must know every
// label of the data (it may know more). Throws naming model_dir and listing the unknown labels and the model's.
std::vector<int32_t> map_labels(const std::vector<std::string>& dataset_labels,
                                const std::vector<std::string>& model_labels, const std::string& model_dir);

}  // namespace docbert::train
