// train/data/label_file.h: labels.txt, the optional list of label names beside a dataset's files.
#pragma once

#include "train/data/dataset_builder.h"

#include <string>
#include <string_view>
#include <vector>

namespace docbert::data {

// Parses label names, one per line in index order (CRLF and a missing final newline are fine). Throws
// "<source>:<line>: <problem>" on an empty line, a duplicate name or invalid UTF-8.
std::vector<std::string> parse_label_names(std::string_view content, const std::string& source);

// Fixes `out`'s vocabulary from out.options().label_names, else from <folder>/labels.txt when that file
// exists; otherwise leaves it open. Records which in the provenance.
void use_label_names(DatasetBuilder& out, const std::string& folder);

}  // namespace docbert::data
