#include "train/data/readers/label_folders.h"

#include "base/error.h"
#include "train/data/text_lines.h"
#include "train/data/utf8_check.h"

#include <algorithm>
#include <filesystem>
#include <set>

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
  // All label folders are listed before any file is read: the label names are fixed up front, so an empty label
  // folder still names a class.
  struct SplitFolder {
    Split split;
    std::string dir;
    std::vector<fs::path> label_dirs;
  };
  std::vector<SplitFolder> folders;
  std::set<std::string> names;
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    const fs::path dir = fs::path(root) / split_name(s);
    if (s == Split::Dev && !fs::exists(dir)) continue;
    DOCBERT_CHECK(fs::is_directory(dir), "{}: {} folder not found (expected ROOT/{}/<label>/<file>)", dir.string(),
                  split_name(s), split_name(s));
    folders.push_back({s, dir.string(), entries(dir)});
    for (const auto& label_dir : folders.back().label_dirs) {
      DOCBERT_CHECK(fs::is_directory(label_dir), "{}: expected a label folder, found a file", label_dir.string());
      const std::string label = label_dir.filename().string();
      const size_t bad = invalid_utf8_offset(label);
      DOCBERT_CHECK(bad == std::string_view::npos, "{}: label folder name is not valid UTF-8 at byte {} (0x{:02X})",
                    label_dir.string(), bad + 1, static_cast<unsigned char>(label[bad]));
      names.insert(label);
    }
  }
  out.set_label_names({names.begin(), names.end()}, root);
  for (const auto& folder : folders) {
    out.begin_split(folder.split, folder.dir);
    for (const auto& label_dir : folder.label_dirs) {
      const std::string label = label_dir.filename().string();
      for (const auto& file : entries(label_dir)) {
        DOCBERT_CHECK(fs::is_regular_file(file), "{}: expected a document file", file.string());
        parse_label_file(read_file(file.string(), "document file"), file.string(),
                         fmt::format("{}/{}/{}", split_name(folder.split), label, file.filename().string()), label,
                         folder.split, out);
      }
    }
  }
  out.set_provenance("reader", "folder");
  out.set_provenance("source", root);
  return out.finish();
}

}  // namespace docbert::data
