#include "train/data/utf8_check.h"

#include "tokenizer/utf8.h"

namespace docbert::data {

size_t invalid_utf8_offset(std::string_view s) {
  constexpr std::string_view kEncodedReplacement = "\xEF\xBF\xBD";
  for (size_t pos = 0; pos < s.size();) {
    const size_t start = pos;
    // ASCII fast path: most text is ASCII.
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    // decode_utf8 maps ill-formed input to U+FFFD; a U+FFFD actually written in the text is well-formed.
    if (tok::decode_utf8(s, pos) == tok::kReplacementChar && s.substr(start, 3) != kEncodedReplacement) return start;
  }
  return std::string_view::npos;
}

std::string to_valid_utf8(std::string_view s) {
  if (invalid_utf8_offset(s) == std::string_view::npos) return std::string(s);
  std::string out;
  for (size_t pos = 0; pos < s.size();) tok::append_utf8(out, tok::decode_utf8(s, pos));
  return out;
}

}  // namespace docbert::data
