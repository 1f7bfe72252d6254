#include "train/data/label_file.h"

#include "base/error.h"
#include "train/data/text_lines.h"
#include "train/data/utf8_check.h"

#include <filesystem>
#include <unordered_set>

namespace docbert::data {

std::vector<std::string> parse_label_names(std::string_view content, const std::string& source) {
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  LineReader lines(content);
  std::string_view line;
  while (lines.next(line)) {
    const int64_t n = lines.line_number();
    DOCBERT_CHECK(!line.empty(), "{}:{}: empty label name", source, n);
    DOCBERT_CHECK(invalid_utf8_offset(line) == std::string_view::npos, "{}:{}: label name is not valid UTF-8", source,
                  n);
    DOCBERT_CHECK(seen.emplace(line).second, "{}:{}: label name '{}' appears twice", source, n, line);
    names.emplace_back(line);
  }
  DOCBERT_CHECK(!names.empty(), "{}: no label names", source);
  return names;
}

void use_label_names(DatasetBuilder& out, const std::string& folder) {
  if (!out.options().label_names.empty()) {
    const std::string& source = out.options().label_names_source;
    out.set_label_names(out.options().label_names, source.empty() ? "the label names given in the options" : source);
    out.set_provenance("label_names", source.empty() ? "given in the options" : source);
    return;
  }
  const std::string path = (std::filesystem::path(folder) / "labels.txt").string();
  if (!std::filesystem::exists(path)) return;
  out.set_label_names(parse_label_names(read_file(path, "label name file"), path), path);
  out.set_provenance("label_names", path);
}

}  // namespace docbert::data
