// train/data/readers/jsonl.h: JSON Lines, one document object per line.
//
// A folder with train.jsonl, test.jsonl and, optionally, dev.jsonl (else dev is carved from train) and
// labels.txt. Each line is an object with "text" (string) and either "labels" (array of label-name strings,
// may be empty for multi-label data) or "label" (one label-name string); "id" (string) is optional and
// defaults to "<split>:<line>"; other keys are ignored. Blank (empty or whitespace-only) lines are skipped.
// Label names: ReadOptions::label_names, labels.txt, or the sorted union of the names accepted documents use.
// The canonical dataset folder (train/data/canonical.h) is this format.
#pragma once

#include "train/data/dataset_builder.h"

#include <string>
#include <string_view>

namespace docbert::data {

// Appends one file's `content` as split `split` to `out`; `source` names the file in messages.
void parse_jsonl(std::string_view content, const std::string& source, Split split, DatasetBuilder& out);

// Reads the folder described above.
Dataset read_jsonl(const std::string& folder, const ReadOptions& options);

}  // namespace docbert::data
