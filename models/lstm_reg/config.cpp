#include "models/lstm_reg/config.h"

#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace docbert::lstm_reg {

namespace {

using nlohmann::json;

constexpr const char* kModelType = "lstm_reg";

// A JSON type a key must have: the check and its name for the error.
struct JsonType {
  bool (*ok)(const json&);
  const char* name;
};
const JsonType kInt{[](const json& v) { return v.is_number_integer(); }, "an integer"};
const JsonType kNumber{[](const json& v) { return v.is_number(); }, "a number"};
const JsonType kBool{[](const json& v) { return v.is_boolean(); }, "true or false"};
const JsonType kString{[](const json& v) { return v.is_string(); }, "a string"};
const JsonType kStrings{[](const json& v) {
                          return v.is_array() &&
                                 std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
                        },
                        "a list of strings"};

// Reads `key` into `out` when present (`out` keeps its default otherwise).
template <class T>
void read(const json& j, const std::string& source, const char* key, const JsonType& type, T& out) {
  if (!j.contains(key)) return;
  DOCBERT_CHECK(type.ok(j[key]), "{}: '{}' must be {}, got {}", source, key, type.name, j[key].dump());
  out = j[key].get<T>();
}

}  // namespace

const char* wdrop_directions_name(WdropDirections d) { return d == WdropDirections::Both ? "both" : "forward"; }

WdropDirections parse_wdrop_directions(const std::string& name, const std::string& source) {
  if (name == "both") return WdropDirections::Both;
  if (name == "forward") return WdropDirections::Forward;
  DOCBERT_THROW("{}: 'wdrop_directions' is '{}' (expected both or forward)", source, name);
}

LstmRegConfig LstmRegConfig::from_json(const std::string& text, const std::string& source) {
  json j = parse_json_object(text, source);
  static const std::set<std::string> kKeys = {
      "model_type",        "vocab_size", "embed_dim", "hidden",         "bidirectional", "num_labels",
      "problem_type",      "labels",     "dropout",   "embed_droprate", "wdrop",         "wdrop_directions",
      "freeze_embeddings", "tar",        "ar",        "pad_id"};
  for (const auto& item : j.items())
    DOCBERT_CHECK(kKeys.count(item.key()), "{}: unknown key '{}' (an LSTM_reg config has {})", source, item.key(),
                  fmt::join(kKeys, ", "));
  for (const char* key : {"vocab_size", "num_labels"})
    DOCBERT_CHECK(j.contains(key), "{}: missing required key '{}'", source, key);

  std::string model_type = kModelType, problem = problem_type_name(ProblemType::SingleLabel), wdrop_dirs = "both";
  read(j, source, "model_type", kString, model_type);
  DOCBERT_CHECK(model_type == kModelType, "{}: 'model_type' is '{}'; this model is '{}'", source, model_type,
                kModelType);
  LstmRegConfig c;
  read(j, source, "vocab_size", kInt, c.vocab_size);
  read(j, source, "embed_dim", kInt, c.embed_dim);
  read(j, source, "hidden", kInt, c.hidden);
  read(j, source, "bidirectional", kBool, c.bidirectional);
  read(j, source, "num_labels", kInt, c.num_labels);
  read(j, source, "problem_type", kString, problem);
  c.problem_type = parse_problem_type(problem, source);
  read(j, source, "labels", kStrings, c.labels);
  read(j, source, "dropout", kNumber, c.dropout);
  read(j, source, "embed_droprate", kNumber, c.embed_droprate);
  read(j, source, "wdrop", kNumber, c.wdrop);
  read(j, source, "wdrop_directions", kString, wdrop_dirs);
  c.wdrop_directions = parse_wdrop_directions(wdrop_dirs, source);
  read(j, source, "freeze_embeddings", kBool, c.freeze_embeddings);
  read(j, source, "tar", kNumber, c.tar);
  read(j, source, "ar", kNumber, c.ar);
  read(j, source, "pad_id", kInt, c.pad_id);
  c.validate(source);
  return c;
}

LstmRegConfig LstmRegConfig::from_json_file(const std::string& path) {
  return from_json(read_file(path, "LSTM_reg config"), path);
}

std::string LstmRegConfig::to_json() const {
  const json j = {{"model_type", kModelType},
                  {"vocab_size", vocab_size},
                  {"embed_dim", embed_dim},
                  {"hidden", hidden},
                  {"bidirectional", bidirectional},
                  {"num_labels", num_labels},
                  {"problem_type", problem_type_name(problem_type)},
                  {"labels", labels},
                  {"dropout", dropout},
                  {"embed_droprate", embed_droprate},
                  {"wdrop", wdrop},
                  {"wdrop_directions", wdrop_directions_name(wdrop_directions)},
                  {"freeze_embeddings", freeze_embeddings},
                  {"tar", tar},
                  {"ar", ar},
                  {"pad_id", pad_id}};
  return j.dump(2) + "\n";
}

void LstmRegConfig::validate(const std::string& source) const {
  const std::pair<const char*, int64_t> sizes[] = {
      {"vocab_size", vocab_size}, {"embed_dim", embed_dim}, {"hidden", hidden}, {"num_labels", num_labels}};
  for (const auto& [key, value] : sizes)
    DOCBERT_CHECK(value > 0, "{}: '{}' must be positive, got {}", source, key, value);
  const std::pair<const char*, double> probs[] = {
      {"dropout", dropout}, {"embed_droprate", embed_droprate}, {"wdrop", wdrop}};
  for (const auto& [key, p] : probs)
    DOCBERT_CHECK(p >= 0 && p < 1, "{}: '{}' must be in [0, 1), got {}", source, key, p);
  DOCBERT_CHECK(tar >= 0, "{}: 'tar' must be >= 0, got {}", source, tar);
  DOCBERT_CHECK(ar >= 0, "{}: 'ar' must be >= 0, got {}", source, ar);
  DOCBERT_CHECK(pad_id >= -1 && pad_id < vocab_size, "{}: 'pad_id' ({}) must be -1 or lie in [0, 'vocab_size' = {})",
                source, pad_id, vocab_size);
  DOCBERT_CHECK(labels.empty() || static_cast<int64_t>(labels.size()) == num_labels,
                "{}: 'num_labels' is {} but 'labels' has {} names", source, num_labels, labels.size());
  DOCBERT_CHECK(std::set<std::string>(labels.begin(), labels.end()).size() == labels.size(),
                "{}: 'labels' must be unique, got {}", source, fmt::join(labels, ", "));
}

}  // namespace docbert::lstm_reg
