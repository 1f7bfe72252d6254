#include "train/data/readers/r8_r52.h"

#include "train/data/text_lines.h"

#include <filesystem>

namespace docbert::data {
namespace {

Dataset read_pair(const std::string& folder, const std::string& prefix, const ReadOptions& options) {
  const bool r8 = prefix == "r8";
  DatasetBuilder out(prefix, options, ProblemType::SingleLabel);
  if (r8) out.set_label_names(r8_label_names(), "R8's fixed label list");
  for (Split s : {Split::Train, Split::Test}) {
    const std::string path = (std::filesystem::path(folder) / (prefix + "-" + split_name(s) + ".txt")).string();
    const std::string content = read_file(path, r8 ? "R8 file" : "R52 file");
    if (r8)
      parse_r8(content, path, s, out);
    else
      parse_r52(content, path, s, out);
  }
  out.set_provenance("reader", prefix);
  out.set_provenance("source", folder);
  return out.finish();
}

Document make_document(Split split, int64_t line, std::string_view text, int32_t label) {
  Document doc;
  doc.id = default_document_id(split, line);
  doc.text = std::string(text);
  doc.labels = {label};
  doc.split = split;
  return doc;
}

}  // namespace

const std::vector<std::string>& r8_label_names() {
  static const std::vector<std::string> names = {"acq",      "crude",    "earn", "grain",
                                                 "interest", "money-fx", "ship", "trade"};
  return names;
}

void parse_r8(std::string_view content, const std::string& source, Split split, DatasetBuilder& out) {
  RowReader rows(content, source, split, out);
  std::string_view line;
  int64_t n = 0;
  while (rows.next(line, n)) {
    if (line.size() < 2 || line[0] < '0' || line[0] > '7' || line[1] != ' ') {
      out.bad_row(source, n, "bad label", "expected a label digit 0-7 and a space at the start of the line");
      continue;
    }
    out.add(make_document(split, n, line.substr(2), line[0] - '0'), source, n);
  }
}

void parse_r52(std::string_view content, const std::string& source, Split split, DatasetBuilder& out) {
  RowReader rows(content, source, split, out);
  std::string_view line;
  int64_t n = 0;
  while (rows.next(line, n)) {
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      out.bad_row(source, n, "missing tab", "no tab between the label and the text");
      continue;
    }
    const int32_t label = out.label_index(line.substr(0, tab), source, n);
    if (label >= 0) out.add(make_document(split, n, line.substr(tab + 1), label), source, n);
  }
}

Dataset read_r8(const std::string& folder, const ReadOptions& options) { return read_pair(folder, "r8", options); }
Dataset read_r52(const std::string& folder, const ReadOptions& options) { return read_pair(folder, "r52", options); }

}  // namespace docbert::data
