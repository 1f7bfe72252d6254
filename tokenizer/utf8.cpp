#include "tokenizer/utf8.h"

namespace docbert::tok {

char32_t decode_utf8(std::string_view text, size_t& pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  // Lead byte -> number of continuation bytes and the allowed range of the first one (Unicode table 3-7);
  // the narrower ranges after E0, ED, F0 and F4 exclude overlongs, surrogates and code points above U+10FFFF.
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {  // a stray continuation byte, C0, C1 or F5..FF: one replacement for the byte alone
    ++pos;
    return kReplacementChar;
  }
  size_t i = pos + 1;
  for (int k = 0; k < need; ++k, ++i) {
    if (i >= text.size()) break;
    const unsigned char b = byte(i);
    if (k == 0 ? (b < lo || b > hi) : !is_continuation_byte(b)) break;
    cp = (cp << 6) | (b & 0x3F);
    if (k == need - 1) {
      pos = i + 1;
      return cp;
    }
  }
  pos = i;  // the valid prefix is the maximal subpart; the offending byte starts the next sequence
  return kReplacementChar;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t count_code_points(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += !is_continuation_byte(static_cast<unsigned char>(c));
  return n;
}

}  // namespace docbert::tok
