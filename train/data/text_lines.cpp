#include "train/data/text_lines.h"

namespace docbert::data {

bool LineReader::next(std::string_view& line) {
  if (rest_.empty()) return false;
  const size_t nl = rest_.find('\n');
  line = rest_.substr(0, nl);
  rest_ = nl == std::string_view::npos ? std::string_view() : rest_.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ++line_number_;
  return true;
}

}  // namespace docbert::data
