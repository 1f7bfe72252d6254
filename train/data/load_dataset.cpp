#include "train/data/load_dataset.h"

#include "base/error.h"
#include "train/data/canonical.h"
#include "train/data/readers/csv.h"
#include "train/data/readers/hedwig_tsv.h"
#include "train/data/readers/imdb.h"
#include "train/data/readers/jsonl.h"
#include "train/data/readers/label_folders.h"
#include "train/data/readers/r8_r52.h"
#include "train/data/readers/reuters_sgml.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace docbert::data {
namespace {

constexpr std::pair<Format, const char*> kNames[] = {{Format::Auto, "auto"},
                                                     {Format::Canonical, "canonical"},
                                                     {Format::ReutersSgml, "reuters-sgml"},
                                                     {Format::HedwigTsv, "hedwig-tsv"},
                                                     {Format::R8, "r8"},
                                                     {Format::R52, "r52"},
                                                     {Format::Imdb, "imdb"},
                                                     {Format::Folder, "folder"},
                                                     {Format::Jsonl, "jsonl"},
                                                     {Format::Csv, "csv"}};

}  // namespace

const char* format_name(Format f) {
  for (const auto& [format, name] : kNames)
    if (format == f) return name;
  return "?";
}

Format parse_format(const std::string& name) {
  for (const auto& [format, n] : kNames)
    if (name == n) return format;
  DOCBERT_THROW(
      "unknown dataset format '{}' (expected auto, canonical, reuters-sgml, hedwig-tsv, r8, r52, imdb, "
      "folder, jsonl or csv)",
      name);
}

Format detect_format(const std::string& path) {
  const fs::path dir(path);
  DOCBERT_CHECK(fs::is_directory(dir), "{}: not a folder (every dataset format is a folder; see --help)", path);
  auto has = [&](const char* name) { return fs::exists(dir / name); };
  if (is_canonical_folder(path)) return Format::Canonical;
  if (has("reut2-000.sgm")) return Format::ReutersSgml;
  if (has("train.tsv")) return Format::HedwigTsv;
  if (has("train.jsonl")) return Format::Jsonl;
  if (has("train.csv")) return Format::Csv;
  if (has("train.txt")) return Format::Imdb;
  DOCBERT_CHECK(!(has("r8-train.txt") && has("r52-train.txt")),
                "{}: holds both R8 and R52 files; choose one with --format r8 or --format r52", path);
  if (has("r8-train.txt")) return Format::R8;
  if (has("r52-train.txt")) return Format::R52;
  if (fs::is_directory(dir / "train")) return Format::Folder;
  DOCBERT_THROW(
      "{}: cannot tell the dataset format (looked for dataset.json, reut2-000.sgm, train.tsv, train.jsonl, "
      "train.csv, train.txt, r8-train.txt, r52-train.txt, train/); give --format",
      path);
}

Dataset load_dataset(const std::string& path, Format format, const ReadOptions& options) {
  if (format == Format::Auto) format = detect_format(path);
  DOCBERT_CHECK(
      options.label_names.empty() || format == Format::HedwigTsv || format == Format::Jsonl || format == Format::Csv,
      "{}: label names were given (--labels), but the {} format defines its own; only hedwig-tsv, jsonl "
      "and csv take them",
      path, format_name(format));
  switch (format) {
    case Format::Canonical:
      return load_canonical(path);
    case Format::ReutersSgml:
      return read_reuters_sgml(path, options);
    case Format::HedwigTsv:
      return read_hedwig_tsv(path, options);
    case Format::R8:
      return read_r8(path, options);
    case Format::R52:
      return read_r52(path, options);
    case Format::Imdb:
      return read_imdb(path, options);
    case Format::Folder:
      return read_label_folders(path, options);
    case Format::Jsonl:
      return read_jsonl(path, options);
    case Format::Csv:
      return read_csv(path, options);
    case Format::Auto:
      break;
  }
  DOCBERT_THROW("load_dataset: unhandled format");
}

}  // namespace docbert::data
