// train/data/readers/r8_r52.h: Cardoso-Cachopo's R8 and R52 Reuters subsets (single-label).
//
// A folder with r8-train.txt and r8-test.txt (R8) or r52-train.txt and r52-test.txt (R52); dev is carved from
// train (train/data/dev_split.h). Ids are "<split>:<line>".
//   R8:  `<digit> <text>`, digits 0-7 = acq crude earn grain interest money-fx ship trade.
//   R52: `<label>\t<text>`; label names are the sorted union of the names in both files.
#pragma once

#include "train/data/dataset_builder.h"

#include <string>
#include <string_view>

namespace docbert::data {

// R8's label names, index = digit.
const std::vector<std::string>& r8_label_names();

// Append one file's `content` as split `split` to `out` (`source` names it in messages). parse_r8 needs `out`
// to carry r8_label_names().
void parse_r8(std::string_view content, const std::string& source, Split split, DatasetBuilder& out);
void parse_r52(std::string_view content, const std::string& source, Split split, DatasetBuilder& out);

// Read `folder` as described above.
Dataset read_r8(const std::string& folder, const ReadOptions& options);
Dataset read_r52(const std::string& folder, const ReadOptions& options);

}  // namespace docbert::data
