// train/data/load_dataset.h: one entry point over every reader, with format auto-detection.
#pragma once

#include "train/data/dataset.h"
#include "train/data/read_options.h"

#include <string>

namespace docbert::data {

enum class Format { Auto, Canonical, ReutersSgml, HedwigTsv, R8, R52, Imdb, Folder, Jsonl, Csv };

// "auto", "canonical", "reuters-sgml", "hedwig-tsv", "r8", "r52", "imdb", "folder", "jsonl", "csv".
const char* format_name(Format f);
Format parse_format(const std::string& name);  // throws naming the accepted names

// Guesses the format of folder `path` from the files in it, first match wins: dataset.json -> canonical,
// reut2-000.sgm -> reuters-sgml, train.tsv -> hedwig-tsv, train.jsonl -> jsonl, train.csv -> csv,
// train.txt -> imdb, r8-train.txt -> r8 / r52-train.txt -> r52 (an error when both are there), a train/
// folder -> folder. Throws when `path` is not a folder or nothing matches.
Format detect_format(const std::string& path);

// Reads the dataset at folder `path` in `format` (Auto: detect_format). `options` apply to every format but
// canonical, which is read strictly (train/data/canonical.h); options.label_names is refused for formats that
// define their own label names (all but hedwig-tsv, jsonl and csv). Readers document their layouts in
// train/data/readers/*.h.
Dataset load_dataset(const std::string& path, Format format, const ReadOptions& options);

}  // namespace docbert::data
