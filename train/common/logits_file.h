// train/common/logits_file.h: the teacher's logits on disk, what docbert_predict --save-logits writes and the
// distillation step reads.
//
// A safetensors file (engine/safetensors.h; Python reads it with safetensors.safe_open) holding one tensor, "logits"
// (N, K) F32, row i for document_ids[i], column j for labels[j], and this "__metadata__" (every value a string):
//   "format"        "docbert-logits"
//   "version"       "1"
//   "problem_type"  "single_label_classification" or "multi_label_classification" (problem_type_name)
//   "labels"        a JSON array of the K label names, in column order (the model's id2label)
//   "document_ids"  a JSON array of the N document ids, in row order, all distinct
//   anything else   the caller's own entries, read back into LogitsFile::metadata (docbert_predict: "model" and
//                   "data", absolute paths; "split" for dataset input; "max_seq_length"; "truncation"; "head_pieces"
//                   with head+tail truncation)
#pragma once

#include "engine/tensor.h"
#include "models/problem_type.h"

#include <map>
#include <string>
#include <vector>

namespace docbert::train {

struct LogitsFile {
  Tensor logits;                          // (N, K) f32 CPU
  std::vector<std::string> document_ids;  // N distinct ids, row order
  std::vector<std::string> labels;        // K >= 1 distinct, non-empty label names, column order
  ProblemType problem = ProblemType::SingleLabel;
  // The caller's extra entries (e.g. "model", "data"); keys must not be one of the five above.
  std::map<std::string, std::string> metadata;
};

// Writes `file` to `path` atomically (save_safetensors: a temporary file renamed over `path`). Throws docbert::Error
// naming `path` and the field when the logits are not a defined (N, K) f32 CPU tensor, when N or K disagree with
// document_ids or labels, when an id or a label name repeats (or a label name is empty), when an extra metadata key
// is reserved, or when a string is not valid UTF-8 (JSON cannot hold it).
void save_logits(const std::string& path, const LogitsFile& file);

// Reads a file save_logits wrote. Throws docbert::Error naming `path` and the field on anything else: a file that
// is not valid safetensors (truncated, say), a "format" other than "docbert-logits", a "version" other than "1", a
// missing field, "labels" or "document_ids" that are not JSON arrays of strings (or repeat an entry), an unknown
// problem type, a tensor other than "logits", and "logits" not F32 or not (len(document_ids), len(labels)).
LogitsFile load_logits(const std::string& path);

}  // namespace docbert::train
