// base/json_io.h: the one parser of whole JSON files (model and tokenizer configs, dataset descriptions, trainer
// states), so every such file fails with the same message naming it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace docbert {

// Parses `text` as a JSON object. Throws docbert::Error "<source>: malformed JSON: <parser's reason>" or
// "<source>: expected a JSON object, got <type>".
//   text    the file's bytes
//   source  the file (or another name for the text) for the messages
nlohmann::json parse_json_object(std::string_view text, const std::string& source);

}  // namespace docbert
