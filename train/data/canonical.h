// train/data/canonical.h: the canonical on-disk dataset folder that every converted dataset becomes.
//
//   DIR/dataset.json   {"format": "docbert-dataset", "version": 1, "name", "problem_type", "label_names",
//                       "splits": {"train": {"file": "train.jsonl", "documents": N}, "dev": ..., "test": ...},
//                       "skipped": {reason: count}, "provenance": {key: value}}
//   DIR/train.jsonl, DIR/dev.jsonl, DIR/test.jsonl
//                      one document per line: {"id": ..., "labels": [label names], "text": ...}
// Loading it back gives a Dataset equal to the one saved (see docs/datasets.md).
#pragma once

#include "train/data/dataset.h"

#include <array>
#include <string>
#include <string_view>

namespace docbert::data {

// Name and version written to and required in dataset.json.
inline constexpr const char* kCanonicalFormat = "docbert-dataset";
inline constexpr int kCanonicalVersion = 1;

// Writes `ds` to folder `dir`, creating it if needed. Every file is serialised before any is written; a string
// that is not valid UTF-8 throws, naming `dir`, the file (and line) and the field. Each file is written to
// "<file>.tmp" and renamed over the old one, so a reader never sees half a file; dataset.json goes last. Refuses
// (throws) when `dir` is a file, or a non-empty folder without dataset.json (not a dataset folder, so not ours to
// overwrite).
void save_canonical(const Dataset& ds, const std::string& dir);

// True when `dir` holds a dataset.json.
bool is_canonical_folder(const std::string& dir);

// Reads a folder written by save_canonical: read_file of each file, then parse_canonical. Throws "<file>:<line>:
// <problem>" on any bad row (the format is machine-written, so nothing is skipped, no line-length limit applies and
// empty texts are kept), on an unknown format or version, and when a split's document count differs from dataset.json.
Dataset load_canonical(const std::string& dir);

// The in-memory part of load_canonical, for tests and fuzzing.
//   dataset_json: the content of dataset.json
//   split_jsonl:  the contents of train.jsonl, dev.jsonl and test.jsonl (in Split order); the "file" entries of
//                 dataset.json are informational, the names are fixed
//   dir:          the folder, only to name files in messages
Dataset parse_canonical(std::string_view dataset_json, const std::array<std::string_view, 3>& split_jsonl,
                        const std::string& dir);

}  // namespace docbert::data
