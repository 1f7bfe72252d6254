#include "train/data/canonical.h"

#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"
#include "train/data/dataset_builder.h"
#include "train/data/readers/jsonl.h"
#include "train/data/text_lines.h"

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <limits>

namespace fs = std::filesystem;
using nlohmann::json;

namespace docbert::data {
namespace {

constexpr Split kSplits[] = {Split::Train, Split::Dev, Split::Test};

std::string split_file(Split s) { return std::string(split_name(s)) + ".jsonl"; }

// j.dump(indent). nlohmann refuses strings that are not UTF-8 with a message naming no value: that becomes an
// error naming the output folder `dir`, the place `where` (file and line) and the JSON pointer of the value.
template <class Json>
std::string dump(const Json& j, int indent, const std::string& dir, const std::string& where) {
  try {
    return j.dump(indent);
  } catch (const json::exception& e) {
    const Json leaves = j.flatten();
    for (const auto& [pointer, value] : leaves.items()) {
      try {
        value.dump();
      } catch (const json::exception& bad) {
        DOCBERT_THROW("{}: cannot save {}: {} is not valid UTF-8 (nothing was written): {}", dir, where, pointer,
                      bad.what());
      }
    }
    DOCBERT_THROW("{}: cannot save {} (nothing was written): {}", dir, where, e.what());
  }
}

// Member `key` of object `j` with the JSON type `is`, or a clear error naming `path`.
const json& member(const json& j, const char* key, bool (json::*is)() const noexcept, const char* type,
                   const std::string& path) {
  const auto it = j.find(key);
  DOCBERT_CHECK(it != j.end() && ((*it).*is)(), "{}: \"{}\" is missing or not {}", path, key, type);
  return *it;
}

}  // namespace

bool is_canonical_folder(const std::string& dir) { return fs::is_regular_file(fs::path(dir) / "dataset.json"); }

void save_canonical(const Dataset& ds, const std::string& dir) {
  const fs::path root(dir);
  if (fs::exists(root)) {
    DOCBERT_CHECK(fs::is_directory(root), "{}: output exists and is not a folder", dir);
    DOCBERT_CHECK(fs::is_empty(root) || is_canonical_folder(dir),
                  "{}: refusing to write into a non-empty folder that is not a dataset folder (no dataset.json)", dir);
  }
  // Everything is serialised before the first file is written: a value that cannot be written then leaves the
  // folder as it was, never split files without their dataset.json.
  nlohmann::ordered_json meta = {{"format", kCanonicalFormat},
                                 {"version", kCanonicalVersion},
                                 {"name", ds.name},
                                 {"problem_type", problem_type_name(ds.problem_type)},
                                 {"label_names", ds.label_names},
                                 {"splits", nlohmann::ordered_json::object()},
                                 {"skipped", ds.skipped.by_reason},
                                 {"provenance", ds.provenance}};
  for (Split s : kSplits) meta["splits"][split_name(s)] = {{"file", split_file(s)}, {"documents", ds.count(s)}};
  const std::string meta_text = dump(meta, 2, dir, "dataset.json") + "\n";
  std::array<std::string, 3> split_text;
  for (Split s : kSplits) {
    std::string& lines = split_text[static_cast<size_t>(s)];
    int64_t line = 0;
    for (const Document* d : ds.split(s)) {
      json names = json::array();
      for (int32_t l : d->labels) {
        DOCBERT_CHECK(l >= 0 && l < ds.num_labels(), "save_canonical: document '{}' has label {} of {}", d->id, l,
                      ds.num_labels());
        names.push_back(ds.label_names[static_cast<size_t>(l)]);
      }
      lines += dump(json{{"id", d->id}, {"labels", std::move(names)}, {"text", d->text}}, -1, dir,
                    fmt::format("{}, line {}", split_file(s), ++line));
      lines += '\n';
    }
  }
  fs::create_directories(root);
  for (Split s : kSplits) write_file_atomic((root / split_file(s)).string(), split_text[static_cast<size_t>(s)], "dataset split");
  write_file_atomic((root / "dataset.json").string(), meta_text, "dataset description");
}

Dataset parse_canonical(std::string_view dataset_json, const std::array<std::string_view, 3>& split_jsonl,
                        const std::string& dir) {
  const std::string meta_path = (fs::path(dir) / "dataset.json").string();
  const json meta = parse_json_object(dataset_json, meta_path);
  const auto format = meta.find("format");
  DOCBERT_CHECK(format != meta.end() && *format == kCanonicalFormat, "{}: \"format\" is not \"{}\"", meta_path,
                kCanonicalFormat);
  const auto version = meta.find("version");
  DOCBERT_CHECK(version != meta.end() && *version == kCanonicalVersion, "{}: unsupported version (this build reads {})",
                meta_path, kCanonicalVersion);
  ReadOptions options;
  options.max_line_bytes = std::numeric_limits<int64_t>::max();
  options.allow_empty_text = true;
  const std::string problem_type =
      member(meta, "problem_type", &json::is_string, "a string", meta_path).get<std::string>();
  options.problem_type = parse_problem_type(problem_type, meta_path);
  DatasetBuilder out(member(meta, "name", &json::is_string, "a string", meta_path).get<std::string>(), options,
                     std::nullopt);
  const json& names = member(meta, "label_names", &json::is_array, "an array", meta_path);
  DOCBERT_CHECK(std::all_of(names.begin(), names.end(), [](const json& n) { return n.is_string(); }),
                "{}: \"label_names\" must hold strings", meta_path);
  out.set_label_names(names.get<std::vector<std::string>>(), meta_path);
  const json& splits = member(meta, "splits", &json::is_object, "an object", meta_path);
  for (Split s : kSplits) {
    const auto entry = splits.find(split_name(s));
    DOCBERT_CHECK(entry != splits.end() && entry->is_object() && entry->contains("documents") &&
                      (*entry)["documents"].is_number_integer(),
                  "{}: \"splits\" lacks \"{}\" with a \"documents\" count", meta_path, split_name(s));
    parse_jsonl(split_jsonl[static_cast<size_t>(s)], (fs::path(dir) / split_file(s)).string(), s, out);
  }
  for (const auto* key : {"skipped", "provenance"})
    DOCBERT_CHECK(!meta.contains(key) || meta[key].is_object(), "{}: \"{}\" is not an object", meta_path, key);
  const json provenance = meta.value("provenance", json::object()), skipped = meta.value("skipped", json::object());
  for (const auto& [key, value] : provenance.items()) {
    DOCBERT_CHECK(value.is_string(), "{}: provenance \"{}\" is not a string", meta_path, key);
    out.set_provenance(key, value.get<std::string>());
  }
  Dataset ds = out.finish();
  for (Split s : kSplits) {
    const int64_t expected = splits[split_name(s)]["documents"].get<int64_t>();
    DOCBERT_CHECK(ds.count(s) == expected, "{}: dataset.json says {} {} documents, {} has {}", dir, expected,
                  split_name(s), split_file(s), ds.count(s));
  }
  for (const auto& [reason, count] : skipped.items()) {
    DOCBERT_CHECK(count.is_number_integer(), "{}: skipped count \"{}\" is not an integer", meta_path, reason);
    ds.skipped.by_reason[reason] = count.get<int64_t>();
  }
  return ds;
}

Dataset load_canonical(const std::string& dir) {
  const std::string meta = read_file((fs::path(dir) / "dataset.json").string(), "dataset description");
  std::array<std::string, 3> files;
  for (Split s : kSplits)
    files[static_cast<size_t>(s)] = read_file((fs::path(dir) / split_file(s)).string(), "dataset split file");
  return parse_canonical(meta, {files[0], files[1], files[2]}, dir);
}

}  // namespace docbert::data
