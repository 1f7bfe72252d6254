// train/data/read_options.h: the knobs every dataset reader takes (size limits, bad-row policy, dev carving).
#pragma once

#include "train/data/dataset.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace docbert::data {

struct ReadOptions {
  // A line (a CSV record, a file of the folder format) longer than this is a bad row: it bounds what one row
  // can cost downstream and catches binary files given by mistake.
  int64_t max_line_bytes = int64_t{1} << 20;
  // Off: the first bad row throws "<file>:<line>: <problem>". On: bad rows are dropped and counted in
  // Dataset::skipped by reason. Missing files, empty splits and broken headers always throw.
  bool skip_bad_rows = false;
  // Off: a document whose text is empty or only whitespace is a bad row. DocBERT's Reuters keeps such
  // documents (articles with <TEXT TYPE="UNPROC"> have neither TITLE nor BODY: 32 in train, 15 in dev, 14 in
  // test), so the Reuters SGML and canonical readers always accept them; reading DocBERT's TSVs needs this on.
  bool allow_empty_text = false;
  // Formats without a dev split get one carved from train (train/data/dev_split.h): this fraction of the
  // training documents, chosen by docbert::seeded_shuffle(seed = dev_seed, offset 0).
  double dev_fraction = 0.1;
  uint64_t dev_seed = 3435;  // hedwig's default --seed
  // Forces the problem type; unset = the reader's own (Reuters multi, R8/R52/IMDB/folder single) or, for
  // hedwig TSV, JSONL and CSV, single-label exactly when every document has one label.
  std::optional<ProblemType> problem_type;
  // Label names in index order; overrides a labels.txt beside hedwig TSV, JSONL and CSV files. Other formats
  // define their own names, so load_dataset() refuses them there.
  std::vector<std::string> label_names;
  // Where label_names came from (e.g. the --labels file), recorded in the provenance; empty = "given in the
  // options".
  std::string label_names_source;
  // hedwig TSV only: drop line 1 of every file, as hedwig's BERT processors do (`if i == 0: continue`) although
  // the files have no header. Off by default: the LSTM loaders keep that row, and so do we.
  bool skip_first_row = false;
  // CSV only: separates the names in a `labels` column ("earn|acq").
  char csv_label_separator = '|';
  // Reuters SGML only: DocBERT's dev file; empty = <folder>/docbert-split/reuters_validation.tsv.
  std::string reuters_dev_tsv;
};

}  // namespace docbert::data
