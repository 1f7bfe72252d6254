#include "train/data/readers/csv.h"

#include "base/error.h"
#include "train/data/label_file.h"
#include "train/data/text_lines.h"

#include <fmt/format.h>

#include <algorithm>

namespace docbert::data {
namespace {

struct Record {
  std::vector<std::string> fields;
  std::string_view raw;  // the record's bytes, without its line ending
  int64_t line = 0;      // 1-based line it starts on
  std::string problem;   // a malformed field, or empty
};

// Splits `content` into records one at a time.
class RecordReader {
 public:
  RecordReader(std::string_view content, const std::string& source) : s_(content), source_(source) {}

  bool next(Record& r) {
    if (pos_ >= s_.size()) return false;
    r.fields.assign(1, std::string());
    r.problem.clear();
    r.line = line_;
    const size_t start = pos_;
    size_t end = std::string_view::npos;  // where the line ending starts
    bool at_field_start = true, closed_quote = false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (at_field_start && c == '"') {
        read_quoted(r);
        closed_quote = true;
        at_field_start = false;
        continue;
      }
      at_field_start = false;
      if (c == ',') {
        r.fields.emplace_back();
        at_field_start = true;
        closed_quote = false;
        ++pos_;
        continue;
      }
      // A record ends at LF, CRLF, or a CR that ends the file (LineReader drops that one too).
      size_t eol = c == '\n' ? 1 : 0;
      if (c == '\r') eol = pos_ + 1 == s_.size() ? 1 : s_[pos_ + 1] == '\n' ? 2 : 0;
      if (eol > 0) {
        end = pos_;
        pos_ += eol;
        ++line_;
        break;
      }
      if (r.problem.empty() && closed_quote) r.problem = "text after the closing quote of a quoted field";
      if (r.problem.empty() && c == '"') r.problem = "quote inside an unquoted field (quote the whole field)";
      r.fields.back() += c;
      ++pos_;
    }
    r.raw = s_.substr(start, (end == std::string_view::npos ? pos_ : end) - start);
    return true;
  }

 private:
  // Reads a quoted field starting at the opening quote into the record's last field.
  void read_quoted(Record& r) {
    const int64_t opened = line_;
    ++pos_;
    while (true) {
      const size_t q = s_.find('"', pos_);
      DOCBERT_CHECK(q != std::string_view::npos, "{}:{}: quoted field never closed (missing '\"')", source_, opened);
      const std::string_view part = s_.substr(pos_, q - pos_);
      line_ += std::count(part.begin(), part.end(), '\n');
      r.fields.back() += part;
      pos_ = q + 1;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        r.fields.back() += '"';
        ++pos_;
        continue;
      }
      return;
    }
  }

  std::string_view s_;
  const std::string& source_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

}  // namespace

void parse_csv(std::string_view content, const std::string& source, Split split, DatasetBuilder& out) {
  out.begin_split(split, source);
  // A UTF-8 byte order mark, as Excel writes and Python's utf-8-sig drops, is not part of the first column name.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (content.substr(0, kBom.size()) == kBom) content.remove_prefix(kBom.size());
  RecordReader records(content, source);
  Record r;
  DOCBERT_CHECK(records.next(r), "{}: empty file (expected a header row)", source);
  DOCBERT_CHECK(r.problem.empty(), "{}:1: header: {}", source, r.problem);
  int text_col = -1, labels_col = -1, label_col = -1, id_col = -1;
  for (size_t i = 0; i < r.fields.size(); ++i) {
    const std::string& name = r.fields[i];
    int* col = name == "text"     ? &text_col
               : name == "labels" ? &labels_col
               : name == "label"  ? &label_col
               : name == "id"     ? &id_col
                                  : nullptr;
    if (!col) continue;
    DOCBERT_CHECK(*col < 0, "{}:1: header names column '{}' twice", source, name);
    *col = static_cast<int>(i);
  }
  DOCBERT_CHECK(text_col >= 0, "{}:1: header has no 'text' column", source);
  DOCBERT_CHECK((labels_col >= 0) != (label_col >= 0), "{}:1: header needs exactly one of 'labels' and 'label'",
                source);
  const size_t width = r.fields.size();
  const char sep = out.options().csv_label_separator;
  while (records.next(r)) {
    const int64_t n = r.line;
    if (r.raw.empty()) continue;  // blank lines are not records (as Python's csv.DictReader)
    if (!out.accept_line(r.raw, source, n)) continue;
    if (!r.problem.empty()) {
      out.bad_row(source, n, "malformed field", r.problem);
      continue;
    }
    if (r.fields.size() != width) {
      out.bad_row(source, n, "wrong field count",
                  fmt::format("record has {} fields, the header has {}", r.fields.size(), width));
      continue;
    }
    std::vector<std::string_view> names;
    if (label_col >= 0) {
      names.push_back(r.fields[label_col]);
    } else if (!r.fields[labels_col].empty()) {
      std::string_view rest = r.fields[labels_col];
      for (size_t cut; (cut = rest.find(sep)) != std::string_view::npos; rest = rest.substr(cut + 1))
        names.push_back(rest.substr(0, cut));
      names.push_back(rest);
    }
    Document doc;
    bool ok = true;
    for (auto name : names) {
      const int32_t index = out.label_index(name, source, n);
      if (index < 0) {
        ok = false;
        break;
      }
      doc.labels.push_back(index);
    }
    if (!ok) continue;
    doc.id = id_col >= 0 ? r.fields[id_col] : default_document_id(split, n);
    doc.text = std::move(r.fields[text_col]);
    doc.split = split;
    out.add(std::move(doc), source, n);
  }
}

Dataset read_csv(const std::string& folder, const ReadOptions& options) {
  DatasetBuilder out(default_dataset_name(folder), options, std::nullopt);
  use_label_names(out, folder);
  read_split_files(folder, ".csv", "CSV file", [&](std::string_view content, const std::string& path, Split s) {
    parse_csv(content, path, s, out);
  });
  out.set_provenance("reader", "csv");
  out.set_provenance("source", folder);
  return out.finish();
}

}  // namespace docbert::data
