// train/data/stats.h: what a dataset looks like, for docbert_data and for trainers' logs.
#pragma once

#include "train/data/dataset.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace docbert::data {

// Counts the WordPiece pieces of one text (no [CLS]/[SEP]); the caller wraps its tokenizer.
using PieceCounter = std::function<int64_t(std::string_view)>;

// BERT's input is [CLS] + at most 510 pieces + [SEP]; longer documents are truncated (head only).
inline constexpr int64_t kMaxPieces = 510;

// Mean, and median and 95th percentile by nearest rank (the value at position ceil(q * n) of the sorted n).
struct Summary {
  double mean = 0, median = 0, p95 = 0;
};

struct SplitStats {
  Split split = Split::Train;
  int64_t documents = 0;
  double label_cardinality = 0;      // mean labels per document
  Summary words;                     // whitespace-separated words per document (ASCII space, \t \n \v \f \r)
  std::optional<Summary> pieces;     // WordPiece pieces per document; unset without a PieceCounter
  double share_over_max_pieces = 0;  // fraction of documents with more than kMaxPieces pieces
};

struct DatasetStats {
  std::string name;
  ProblemType problem_type = ProblemType::MultiLabel;
  int num_labels = 0;
  std::vector<SplitStats> splits;  // train, dev, test
  // Documents per label and split (train, dev, test), most frequent in train first (ties: label order).
  std::vector<std::pair<std::string, std::array<int64_t, 3>>> label_documents;
  SkipCounts skipped;
};

// Computes the statistics of `ds`; `count_pieces` may be empty, which leaves the WordPiece rows out.
DatasetStats compute_stats(const Dataset& ds, const PieceCounter& count_pieces = {});

// The printout of docbert_data: one block per split, the `top_labels` most frequent labels and skipped rows.
std::string format_stats(const DatasetStats& stats, int top_labels = 10);

}  // namespace docbert::data
