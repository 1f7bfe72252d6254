// train/data/dataset.h: the one in-memory form of a document-classification dataset.
//
// Every reader (train/data/readers/) produces a Dataset; every consumer (tokenizers, batching, trainers,
// docbert_data) takes one. Labels are indices into label_names; single-label documents carry exactly one.
#pragma once

#include "models/problem_type.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace docbert::data {

enum class Split { Train, Dev, Test };
using ::docbert::ProblemType;  // models/problem_type.h, with problem_type_name and parse_problem_type

const char* split_name(Split s);             // "train", "dev", "test"
Split parse_split(const std::string& name);  // throws docbert::Error naming the accepted names

struct Document {
  std::string id;               // unique within the dataset, e.g. "reuters-14826" or "train:17"
  std::string text;             // UTF-8 (readers of Latin-1 sources convert)
  std::vector<int32_t> labels;  // sorted, unique indices into Dataset::label_names
  Split split = Split::Train;
};

// Rows a reader skipped instead of failing (only where a reader's options allow it), by reason.
struct SkipCounts {
  std::map<std::string, int64_t> by_reason;
  int64_t total() const;
};

struct Dataset {
  std::string name;  // e.g. "reuters", "r8"
  ProblemType problem_type = ProblemType::MultiLabel;
  std::vector<std::string> label_names;  // index = label id
  std::vector<Document> documents;       // all splits, in reader order within each split
  SkipCounts skipped;
  std::map<std::string, std::string> provenance;  // where it came from: source paths, reader, options

  std::vector<const Document*> split(Split s) const;
  int64_t count(Split s) const;
  int num_labels() const { return static_cast<int>(label_names.size()); }
};

// Orders `documents` train, dev, test; stable, so each split keeps reader order.
void group_by_split(std::vector<Document>& documents);

// Which documents a student vocabulary (word vocabulary or SentencePiece model) is counted over. Train is docbert's
// default: no dev or test word shapes the model. AllSplits is hedwig's choice (torchtext's
// build_vocab(train, dev, test)), for reproducing its LSTM numbers.
enum class VocabSource { Train, AllSplits };
VocabSource parse_vocab_source(const std::string& name);  // "train" or "all"; throws naming both otherwise
const char* vocab_source_name(VocabSource source);        // "train" / "all"

// The texts of the documents `source` selects, in dataset order.
std::vector<std::string> vocab_texts(const Dataset& ds, VocabSource source);

}  // namespace docbert::data
