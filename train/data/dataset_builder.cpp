#include "train/data/dataset_builder.h"

#include "base/error.h"
#include "train/data/dev_split.h"
#include "train/data/utf8_check.h"

#include <algorithm>
#include <filesystem>
#include <utility>

namespace docbert::data {

std::string default_dataset_name(const std::string& path) {
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  while (p.has_relative_path() && p.filename().empty()) p = p.parent_path();
  const std::string name = p.filename().string();
  return name.empty() ? "dataset" : to_valid_utf8(name);  // empty: the root folder
}

std::string default_document_id(Split split, int64_t line) { return fmt::format("{}:{}", split_name(split), line); }

DatasetBuilder::DatasetBuilder(std::string name, const ReadOptions& options, std::optional<ProblemType> reader_type)
    : name_(std::move(name)), options_(options), type_(options.problem_type ? options.problem_type : reader_type) {}

void DatasetBuilder::set_label_names(std::vector<std::string> names, const std::string& source) {
  DOCBERT_CHECK(!names.empty(), "{}: no label names", source);
  label_ids_.clear();
  for (size_t i = 0; i < names.size(); ++i) {
    DOCBERT_CHECK(!names[i].empty(), "{}: label name {} is empty", source, i + 1);
    DOCBERT_CHECK(label_ids_.emplace(names[i], static_cast<int32_t>(i)).second, "{}: label name '{}' appears twice",
                  source, names[i]);
  }
  label_names_ = std::move(names);
  labels_fixed_ = true;
}

int32_t DatasetBuilder::label_index(std::string_view name, const std::string& source, int64_t line) {
  if (name.empty()) {
    bad_row(source, line, "empty label", "empty label name");
    return -1;
  }
  const auto it = label_ids_.find(std::string(name));
  if (it != label_ids_.end()) return it->second;
  if (labels_fixed_) {
    bad_row(source, line, "unknown label",
            fmt::format("unknown label '{}' (not among the {} label names)", name, label_names_.size()));
    return -1;
  }
  // Provisional: finish() keeps only the names that accepted documents use.
  const auto id = static_cast<int32_t>(label_names_.size());
  label_names_.emplace_back(name);
  label_ids_.emplace(std::string(name), id);
  return id;
}

void DatasetBuilder::bad_row(const std::string& source, int64_t line, const std::string& reason,
                             const std::string& problem) {
  if (!options_.skip_bad_rows) DOCBERT_THROW("{}:{}: {}", source, line, problem);
  ++skipped_.by_reason[reason];
}

bool DatasetBuilder::accept_line(std::string_view line, const std::string& source, int64_t line_number) {
  if (static_cast<int64_t>(line.size()) > options_.max_line_bytes) {
    bad_row(source, line_number, "line too long",
            fmt::format("line of {} bytes exceeds the maximum of {} (--max-line-bytes)", line.size(),
                        options_.max_line_bytes));
    return false;
  }
  const size_t bad = invalid_utf8_offset(line);
  if (bad != std::string_view::npos) {
    bad_row(
        source, line_number, "invalid UTF-8",
        fmt::format("invalid UTF-8 at byte {} of the line (0x{:02X})", bad + 1, static_cast<unsigned char>(line[bad])));
    return false;
  }
  return true;
}

void DatasetBuilder::set_provenance(const std::string& key, const std::string& value) {
  provenance_[key] = to_valid_utf8(value);
}

void DatasetBuilder::begin_split(Split split, const std::string& source) {
  split_sources_[static_cast<int>(split)].push_back(source);
}

bool DatasetBuilder::add(Document doc, const std::string& source, int64_t line) {
  if (invalid_utf8_offset(doc.text) != std::string_view::npos) {
    bad_row(source, line, "invalid UTF-8", "text is not valid UTF-8");
    return false;
  }
  // Ids built from file names (the folder format) need not be UTF-8.
  if (const size_t bad = invalid_utf8_offset(doc.id); bad != std::string_view::npos) {
    bad_row(source, line, "invalid UTF-8",
            fmt::format("document id is not valid UTF-8 at byte {} (0x{:02X})", bad + 1,
                        static_cast<unsigned char>(doc.id[bad])));
    return false;
  }
  if (!options_.allow_empty_text && doc.text.find_first_not_of(" \t\n\r\v\f") == std::string::npos) {
    bad_row(source, line, "empty text", "empty or whitespace-only text (--allow-empty-text keeps such documents)");
    return false;
  }
  std::sort(doc.labels.begin(), doc.labels.end());
  doc.labels.erase(std::unique(doc.labels.begin(), doc.labels.end()), doc.labels.end());
  // A reader's bug, not the user's: labels come from label_index() or a fixed list set before parsing.
  DOCBERT_CHECK(doc.labels.empty() || (doc.labels.front() >= 0 && doc.labels.back() < num_labels()),
                "{}:{}: label index outside the {} known labels (was the label list set before parsing?)", source, line,
                num_labels());
  if (type_ == ProblemType::SingleLabel && doc.labels.size() != 1) {
    bad_row(source, line, "not one label",
            fmt::format("single-label data needs exactly one label per document, this one has {}", doc.labels.size()));
    return false;
  }
  if (!ids_.insert(doc.id).second) {
    bad_row(source, line, "duplicate id", fmt::format("document id '{}' is used twice", doc.id));
    return false;
  }
  documents_.push_back(std::move(doc));
  return true;
}

Dataset DatasetBuilder::finish() {
  Dataset ds;
  ds.name = name_;
  if (!labels_fixed_) {
    // Collected names: keep those the accepted documents use (a rejected row's new name is no class), sort them
    // and renumber every document.
    std::vector<bool> used(label_names_.size());
    for (const auto& d : documents_)
      for (int32_t l : d.labels) used[static_cast<size_t>(l)] = true;
    std::vector<int32_t> order;
    for (size_t i = 0; i < used.size(); ++i)
      if (used[i]) order.push_back(static_cast<int32_t>(i));
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return label_names_[a] < label_names_[b]; });
    std::vector<int32_t> new_id(label_names_.size(), -1);
    for (size_t i = 0; i < order.size(); ++i) new_id[order[i]] = static_cast<int32_t>(i);
    for (auto& d : documents_) {
      for (auto& l : d.labels) l = new_id[l];
      std::sort(d.labels.begin(), d.labels.end());
    }
    for (int32_t i : order) ds.label_names.push_back(label_names_[i]);
  } else {
    ds.label_names = label_names_;
  }
  if (type_) {
    ds.problem_type = *type_;
  } else {
    const bool one_each =
        std::all_of(documents_.begin(), documents_.end(), [](const Document& d) { return d.labels.size() == 1; });
    ds.problem_type = one_each ? ProblemType::SingleLabel : ProblemType::MultiLabel;
  }
  ds.documents = std::move(documents_);
  group_by_split(ds.documents);
  ds.skipped = skipped_;
  ds.provenance = provenance_;
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    const auto& sources = split_sources_[static_cast<int>(s)];
    if (sources.empty()) continue;
    DOCBERT_CHECK(ds.count(s) > 0, "{}: the {} split has no documents{}", fmt::join(sources, ", "), split_name(s),
                  skipped_.total() ? " (after skipping bad rows)" : "");
  }
  DOCBERT_CHECK(ds.label_names.size() > 0, "dataset '{}': no labels", name_);
  if (split_sources_[static_cast<int>(Split::Dev)].empty()) {
    carve_dev(ds, options_.dev_fraction, options_.dev_seed);
    ds.provenance["dev"] = fmt::format("carved from train: fraction {}, seed {} (train/data/dev_split.h)",
                                       options_.dev_fraction, options_.dev_seed);
  }
  return ds;
}

RowReader::RowReader(std::string_view content, const std::string& source, Split split, DatasetBuilder& out,
                     bool skip_first)
    : lines_(content), source_(source), out_(out), skip_first_(skip_first) {
  out.begin_split(split, source);
}

bool RowReader::next(std::string_view& line, int64_t& line_number) {
  while (lines_.next(line)) {
    line_number = lines_.line_number();
    if (line_number == 1 && skip_first_) continue;
    if (out_.accept_line(line, source_, line_number)) return true;
  }
  return false;
}

void read_split_files(const std::string& folder, const std::string& suffix, const char* what,
                      const std::function<void(std::string_view, const std::string&, Split)>& parse) {
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    const std::string path = (std::filesystem::path(folder) / (std::string(split_name(s)) + suffix)).string();
    if (s == Split::Dev && !std::filesystem::exists(path)) continue;
    parse(read_file(path, what), path, s);
  }
}

}  // namespace docbert::data
