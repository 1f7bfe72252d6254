#include "train/data/readers/label_folders.h"

#include "engine/error.h"
#include "train/data/text_lines.h"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace docbert::data {
namespace {

// Non-hidden entries of `dir`, sorted by name.
std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind('.', 0) != 0) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void parse_label_file(std::string_view content, const std::string& source, const std::string& id,
                      const std::string& label, Split split, DatasetBuilder& out) {
  LineReader lines(content);
  std::string_view line;
  while (lines.next(line))
    if (!out.accept_line(line, source, lines.line_number())) return;
  const int32_t index = out.label_index(label, source, 1);
  if (index < 0) return;
  Document doc;
  doc.id = id;
  doc.text = std::string(content);
  doc.labels = {index};
  doc.split = split;
  out.add(std::move(doc), source, 1);
}

Dataset read_label_folders(const std::string& root, const ReadOptions& options) {
  DatasetBuilder out(default_dataset_name(root), options, ProblemType::SingleLabel);
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    const fs::path dir = fs::path(root) / split_name(s);
    if (s == Split::Dev && !fs::exists(dir)) continue;
    DOCBERT_CHECK(fs::is_directory(dir), "{}: {} folder not found (expected ROOT/{}/<label>/<file>)", dir.string(),
                  split_name(s), split_name(s));
    out.begin_split(s, dir.string());
    for (const auto& label_dir : entries(dir)) {
      DOCBERT_CHECK(fs::is_directory(label_dir), "{}: expected a label folder, found a file", label_dir.string());
      const std::string label = label_dir.filename().string();
      out.label_index(label, label_dir.string(), 0);  // an empty label folder still names a label
      for (const auto& file : entries(label_dir)) {
        DOCBERT_CHECK(fs::is_regular_file(file), "{}: expected a document file", file.string());
        parse_label_file(read_file(file.string(), "document file"), file.string(),
                         fmt::format("{}/{}/{}", split_name(s), label, file.filename().string()), label, s, out);
      }
    }
  }
  out.set_provenance("reader", "folder");
  out.set_provenance("source", root);
  return out.finish();
}

}  // namespace docbert::data
