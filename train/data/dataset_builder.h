// train/data/dataset_builder.h: what every reader shares between parsing rows and returning a Dataset.
//
// It owns the bad-row policy (throw "<source>:<line>: <problem>" or count a skip), the label vocabulary (fixed
// up front, or collected and sorted at the end), the per-document checks (valid UTF-8 text and id, non-empty
// text, unique id, one label for single-label data) and the final shape: documents grouped train, dev, test, each in
// reader order, a dev split carved from train when the source has none, no empty split.
#pragma once

#include "train/data/dataset.h"
#include "train/data/read_options.h"
#include "train/data/text_lines.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace docbert::data {

// The last component of the absolute, normalised `path` ("." names the current folder), made valid UTF-8: the
// default Dataset::name of folder formats.
std::string default_dataset_name(const std::string& path);

// "<split>:<line>", the id of a document from a format without its own ids.
std::string default_document_id(Split split, int64_t line);

class DatasetBuilder {
 public:
  // name: Dataset::name. options: the caller's ReadOptions (kept by reference; must outlive the builder).
  // reader_type: the format's own problem type, used unless options.problem_type forces one; unset = decided
  // at finish() (single-label exactly when every document has one label).
  DatasetBuilder(std::string name, const ReadOptions& options, std::optional<ProblemType> reader_type);

  const ReadOptions& options() const { return options_; }

  // Fixes the label vocabulary (index = position); later names outside it are bad rows. Throws, naming
  // `source`, on an empty or duplicate name. Without a call, the names of the accepted documents are collected
  // and sorted at finish(): a name seen only in rejected rows is not a class.
  void set_label_names(std::vector<std::string> names, const std::string& source);
  bool labels_fixed() const { return labels_fixed_; }
  int num_labels() const { return static_cast<int>(label_names_.size()); }

  // Index of label `name` for the row at source:line, or -1 after bad_row() when the name is empty or the
  // vocabulary is fixed and lacks it.
  int32_t label_index(std::string_view name, const std::string& source, int64_t line);

  // The bad-row policy: throws docbert::Error "<source>:<line>: <problem>", or, with options.skip_bad_rows,
  // counts the row under `reason` (a short key shown in statistics, e.g. "invalid UTF-8") and returns.
  void bad_row(const std::string& source, int64_t line, const std::string& reason, const std::string& problem);

  // Checks one raw line (or CSV record, or file) against options.max_line_bytes and UTF-8; returns false after
  // bad_row() when it fails.
  bool accept_line(std::string_view line, const std::string& source, int64_t line_number);

  // Declares that `source` holds split `split`: an empty split is reported by that name at finish().
  void begin_split(Split split, const std::string& source);

  // Adds `doc` (labels may be unsorted and repeat) after the document checks; returns false after bad_row().
  bool add(Document doc, const std::string& source, int64_t line);

  // Records where the data came from (Dataset::provenance); `value` is made valid UTF-8 (paths need not be).
  void set_provenance(const std::string& key, const std::string& value);

  // Returns the dataset: sorts a collected vocabulary, groups splits, carves dev when none was read, and
  // throws when train or test (or a dev that was read) has no documents.
  Dataset finish();

 private:
  std::string name_;
  const ReadOptions& options_;
  std::optional<ProblemType> type_;
  bool labels_fixed_ = false;
  std::vector<std::string> label_names_;
  std::unordered_map<std::string, int32_t> label_ids_;
  std::vector<Document> documents_;
  std::unordered_set<std::string> ids_;
  std::vector<std::string> split_sources_[3];
  SkipCounts skipped_;
  std::map<std::string, std::string> provenance_;
};

// The rows of one line-based file: declares `source` as split `split` in `out`, then yields each line (without its
// \n or \r\n) that passes out.accept_line() (size limit, UTF-8), with its 1-based number. skip_first drops line 1
// unread (hedwig's header quirk).
class RowReader {
 public:
  RowReader(std::string_view content, const std::string& source, Split split, DatasetBuilder& out,
            bool skip_first = false);
  bool next(std::string_view& line, int64_t& line_number);

 private:
  LineReader lines_;
  const std::string& source_;
  DatasetBuilder& out_;
  bool skip_first_;
};

// Reads <folder>/train<suffix>, dev<suffix> (optional: dev is carved from train without it) and test<suffix>, and
// hands each file's content, path and split to `parse`. `what` names the kind of file in errors ("JSONL file").
void read_split_files(const std::string& folder, const std::string& suffix, const char* what,
                      const std::function<void(std::string_view, const std::string&, Split)>& parse);

}  // namespace docbert::data
