// train/data/readers/label_folders.h: one file per document, one folder per label (scikit-learn's load_files).
//
// ROOT/train/<label>/<file>, ROOT/test/<label>/<file> and, optionally, ROOT/dev/<label>/<file> (else dev is
// carved from train). Each file is one document: its whole content, which must be UTF-8, as must label folder
// and file names (they become label names and ids). Names starting with '.' are ignored; anything else that is
// not a label folder (in a split folder) or a file (in a label folder) is an error. Label names = the sorted
// union of the label folder names, empty folders included; single-label. Documents come in label-name, then
// file-name order (byte order); ids are "<split>/<label>/<file>".
#pragma once

#include "train/data/dataset_builder.h"

#include <string>
#include <string_view>

namespace docbert::data {

// Adds the document in file `content` (named `source` in messages) with id `id` and label `label` as split
// `split` to `out`; a line of it that is too long or not UTF-8 makes it a bad row.
void parse_label_file(std::string_view content, const std::string& source, const std::string& id,
                      const std::string& label, Split split, DatasetBuilder& out);

// Reads the tree under `root` described above.
Dataset read_label_folders(const std::string& root, const ReadOptions& options);

}  // namespace docbert::data
