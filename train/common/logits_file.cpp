#include "train/common/logits_file.h"

#include "base/error.h"
#include "engine/safetensors.h"

#include <nlohmann/json.hpp>

#include <set>

namespace docbert::train {

namespace {

constexpr const char* kFormat = "docbert-logits";
constexpr const char* kVersion = "1";
const std::set<std::string> kReserved = {"format", "version", "problem_type", "labels", "document_ids"};

// Throws unless `names` are distinct (and non-empty when `non_empty`); `field` names them in the message.
void check_distinct(const std::string& path, const char* field, const std::vector<std::string>& names, bool non_empty) {
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    DOCBERT_CHECK(!non_empty || !names[i].empty(), "{}: \"{}\" entry {} is empty", path, field, i);
    DOCBERT_CHECK(seen.insert(names[i]).second, "{}: \"{}\" has '{}' twice", path, field, names[i]);
  }
}

// `names` as a compact JSON array; invalid UTF-8 is an error naming the field.
std::string json_array(const std::string& path, const char* field, const std::vector<std::string>& names) {
  try {
    return nlohmann::json(names).dump();
  } catch (const nlohmann::json::exception& e) {
    DOCBERT_THROW("{}: \"{}\" must be valid UTF-8 ({})", path, field, e.what());
  }
}

// The metadata value `key`; missing is an error naming the field.
const std::string& field(const std::string& path, const std::map<std::string, std::string>& metadata, const char* key) {
  const auto it = metadata.find(key);
  DOCBERT_CHECK(it != metadata.end(), "{}: metadata field \"{}\" is missing (not a docbert logits file?)", path, key);
  return it->second;
}

// The JSON array of strings in metadata field `key`.
std::vector<std::string> string_array(const std::string& path, const std::map<std::string, std::string>& metadata,
                                      const char* key) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(field(path, metadata, key));
  } catch (const nlohmann::json::exception& e) {
    DOCBERT_THROW("{}: metadata field \"{}\" is not valid JSON ({})", path, key, e.what());
  }
  DOCBERT_CHECK(j.is_array(), "{}: metadata field \"{}\" must be a JSON array of strings, got {}", path, key,
                j.type_name());
  std::vector<std::string> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    DOCBERT_CHECK(j[i].is_string(), "{}: metadata field \"{}\" entry {} is a {}, not a string", path, key, i,
                  j[i].type_name());
    out.push_back(j[i].get<std::string>());
  }
  return out;
}

}  // namespace

void save_logits(const std::string& path, const LogitsFile& file) {
  const Tensor& t = file.logits;
  DOCBERT_CHECK(t.defined() && t.is_cpu() && t.dtype() == DType::F32 && t.dim() == 2,
                "{}: \"logits\" must be an (N, K) f32 CPU tensor, got {}", path,
                t.defined() ? t.describe() : "an undefined tensor");
  DOCBERT_CHECK(t.size(0) == static_cast<int64_t>(file.document_ids.size()),
                "{}: \"logits\" has {} rows but there are {} \"document_ids\"", path, t.size(0),
                file.document_ids.size());
  DOCBERT_CHECK(t.size(1) == static_cast<int64_t>(file.labels.size()) && !file.labels.empty(),
                "{}: \"logits\" has {} columns but there are {} \"labels\" (at least 1)", path, t.size(1),
                file.labels.size());
  check_distinct(path, "labels", file.labels, /*non_empty=*/true);
  check_distinct(path, "document_ids", file.document_ids, /*non_empty=*/false);
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : file.metadata) {
    DOCBERT_CHECK(!kReserved.count(key), "{}: extra metadata key \"{}\" is reserved for the format", path, key);
    metadata[key] = value;
  }
  metadata["format"] = kFormat;
  metadata["version"] = kVersion;
  metadata["problem_type"] = problem_type_name(file.problem);
  metadata["labels"] = json_array(path, "labels", file.labels);
  metadata["document_ids"] = json_array(path, "document_ids", file.document_ids);
  save_safetensors(path, {{"logits", t}}, metadata);
}

LogitsFile load_logits(const std::string& path) {
  const SafetensorsFile st = SafetensorsFile::open(path);
  const auto& metadata = st.metadata();
  const std::string& format = field(path, metadata, "format");
  DOCBERT_CHECK(format == kFormat, "{}: metadata field \"format\" is '{}', expected '{}' (not a docbert logits file)",
                path, format, kFormat);
  const std::string& version = field(path, metadata, "version");
  DOCBERT_CHECK(version == kVersion, "{}: metadata field \"version\" is '{}'; this build reads version {}", path,
                version, kVersion);
  LogitsFile out;
  out.problem = parse_problem_type(field(path, metadata, "problem_type"), path + ": metadata field \"problem_type\"");
  out.labels = string_array(path, metadata, "labels");
  out.document_ids = string_array(path, metadata, "document_ids");
  DOCBERT_CHECK(!out.labels.empty(), "{}: metadata field \"labels\" is empty", path);
  check_distinct(path, "labels", out.labels, /*non_empty=*/true);
  check_distinct(path, "document_ids", out.document_ids, /*non_empty=*/false);
  for (const SafetensorsEntry& e : st.entries())
    DOCBERT_CHECK(e.name == "logits", "{}: unexpected tensor '{}' (a logits file holds \"logits\" only)", path, e.name);
  const SafetensorsEntry& e = st.entry("logits");
  const Shape want = {static_cast<int64_t>(out.document_ids.size()), static_cast<int64_t>(out.labels.size())};
  DOCBERT_CHECK(e.dtype == "F32" && e.shape == want,
                "{}: \"logits\" is {} {}, expected F32 {} (len(document_ids), len(labels))", path, e.dtype,
                shape_str(e.shape), shape_str(want));
  out.logits = st.load("logits");
  for (const auto& [key, value] : metadata)
    if (!kReserved.count(key)) out.metadata[key] = value;
  return out;
}

}  // namespace docbert::train
