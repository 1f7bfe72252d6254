// train/data/readers/hedwig_tsv.h: hedwig's TSV format (DocBERT's Reuters, AAPD, IMDB, Yelp files).
//
// A folder with train.tsv, test.tsv and, optionally, dev.tsv (else dev is carved from train) and labels.txt.
// One document per line, no header, no quoting: `<label string>\t<text>`. The label string has one '0'/'1'
// per class, the same width on every line; bit i is label i. The text is everything after the first tab
// (hedwig's csv reader would cut it at a second tab; there is none in DocBERT's files). Label names come
// from ReadOptions::label_names, labels.txt, or default to "0".."C-1". Ids are "<split>:<line>".
#pragma once

#include "train/data/dataset_builder.h"

#include <string>
#include <string_view>

namespace docbert::data {

// Appends the documents of one file's `content` to `out` as split `split`; `source` names the file in
// messages. When `out` has no label names yet, the first row whose label string is only '0's and '1's fixes
// the width.
void parse_hedwig_tsv(std::string_view content, const std::string& source, Split split, DatasetBuilder& out);

// Reads the folder described above.
Dataset read_hedwig_tsv(const std::string& folder, const ReadOptions& options);

// One document as a hedwig TSV line without the newline: `<num_labels bits>\t<text>` (a text holding a newline
// would not read back as one row).
std::string hedwig_tsv_row(const Document& doc, int num_labels);

}  // namespace docbert::data
