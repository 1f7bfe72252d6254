// train/data/readers/csv.h: CSV with a header row (RFC 4180).
//
// A folder with train.csv, test.csv and, optionally, dev.csv (else dev is carved from train) and labels.txt.
// The header names the columns: "text" and either "labels" (label names joined by
// ReadOptions::csv_label_separator, default '|'; empty = no label) or "label" (one name); "id" is optional
// (default "<split>:<line>", the line a record starts on); other columns are ignored. Fields are separated by
// ',' and may be quoted with '"' ('""' is a quote inside); quoted fields may hold commas and newlines, which
// are kept as written. Records end at LF, CRLF or a CR that ends the file; a leading UTF-8 byte order mark is
// dropped. Label names: ReadOptions::label_names, labels.txt, or the sorted union of the names accepted
// documents use.
#pragma once

#include "train/data/dataset_builder.h"

#include <string>
#include <string_view>

namespace docbert::data {

// Appends one file's `content` as split `split` to `out`; `source` names the file in messages. A header
// problem or a quote left open at the end of the file throws even when bad rows are skipped.
void parse_csv(std::string_view content, const std::string& source, Split split, DatasetBuilder& out);

// Reads the folder described above.
Dataset read_csv(const std::string& folder, const ReadOptions& options);

}  // namespace docbert::data
