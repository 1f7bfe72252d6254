#include "base/json_io.h"

#include "base/error.h"

namespace docbert {

nlohmann::json parse_json_object(std::string_view text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    DOCBERT_THROW("{}: malformed JSON: {}", source, e.what());
  }
  DOCBERT_CHECK(j.is_object(), "{}: expected a JSON object, got {}", source, j.type_name());
  return j;
}

}  // namespace docbert
