#include "train/data/readers/hedwig_tsv.h"

#include "train/data/label_file.h"
#include "train/data/text_lines.h"

#include <fmt/format.h>

namespace docbert::data {

void parse_hedwig_tsv(std::string_view content, const std::string& source, Split split, DatasetBuilder& out) {
  RowReader rows(content, source, split, out, out.options().skip_first_row);
  std::string_view line;
  int64_t n = 0;
  while (rows.next(line, n)) {
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      out.bad_row(source, n, "missing tab", "no tab between the label string and the text");
      continue;
    }
    const std::string_view bits = line.substr(0, tab);
    if (bits.empty()) {
      out.bad_row(source, n, "bad label string", "empty label string before the tab");
      continue;
    }
    const size_t bad = bits.find_first_not_of("01");
    if (bad != std::string_view::npos) {
      out.bad_row(source, n, "bad label string",
                  fmt::format("label string has '{}' at position {}; only 0 and 1 are allowed", bits[bad], bad + 1));
      continue;
    }
    // The first well-formed label string fixes the width, so a skipped header or corrupt first line does not.
    if (!out.labels_fixed()) {
      std::vector<std::string> names;
      for (size_t i = 0; i < bits.size(); ++i) names.push_back(std::to_string(i));
      out.set_label_names(std::move(names), source);
    }
    if (static_cast<int>(bits.size()) != out.num_labels()) {
      out.bad_row(
          source, n, "bad label string",
          fmt::format("label string has {} characters, expected {} (one per label)", bits.size(), out.num_labels()));
      continue;
    }
    Document doc;
    doc.id = default_document_id(split, n);
    doc.text = std::string(line.substr(tab + 1));
    doc.split = split;
    for (size_t i = 0; i < bits.size(); ++i)
      if (bits[i] == '1') doc.labels.push_back(static_cast<int32_t>(i));
    out.add(std::move(doc), source, n);
  }
}

Dataset read_hedwig_tsv(const std::string& folder, const ReadOptions& options) {
  DatasetBuilder out(default_dataset_name(folder), options, std::nullopt);
  use_label_names(out, folder);
  read_split_files(folder, ".tsv", "hedwig TSV file", [&](std::string_view content, const std::string& path, Split s) {
    parse_hedwig_tsv(content, path, s, out);
  });
  out.set_provenance("reader", "hedwig-tsv");
  out.set_provenance("source", folder);
  if (options.skip_first_row) out.set_provenance("skip_first_row", "line 1 of every file dropped (hedwig BERT quirk)");
  return out.finish();
}

std::string hedwig_tsv_row(const Document& doc, int num_labels) {
  std::string row(static_cast<size_t>(num_labels), '0');
  for (int32_t l : doc.labels) row[static_cast<size_t>(l)] = '1';
  row += '\t';
  row += doc.text;
  return row;
}

}  // namespace docbert::data
