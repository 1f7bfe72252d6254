// tokenizer/utf8.h: UTF-8 decoding and encoding for the tokenizers.
//
// docbert reads bytes, HF reads Python str. The bridge is Python's bytes.decode("utf-8", "replace"): every
// maximal subpart of an ill-formed sequence (Unicode 15, section 3.9, "U+FFFD substitution of maximal subparts")
// becomes one U+FFFD, and decoding resumes at the first byte that could not continue the sequence. decode_utf8
// follows that rule byte for byte, so the same bytes give the same code points on both sides.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace docbert::tok {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Whether byte b continues a multi-byte sequence (10xxxxxx), i.e. does not start a code point.
inline constexpr bool is_continuation_byte(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes the code point starting at text[pos] and advances pos past it. An ill-formed sequence yields
// kReplacementChar and advances past its maximal subpart (at least one byte).
//   text: UTF-8 bytes, possibly ill-formed
//   pos:  byte offset into text, < text.size(); updated to the offset of the next code point
char32_t decode_utf8(std::string_view text, size_t& pos);

// Appends the UTF-8 encoding (1-4 bytes) of `cp` to `out`.
//   out: string to append to
//   cp:  a Unicode scalar value (<= 0x10FFFF, not a surrogate)
void append_utf8(std::string& out, char32_t cp);

// Number of code points in well-formed UTF-8 (counts the bytes that do not continue a sequence).
//   text: well-formed UTF-8 bytes, e.g. a word produced by BasicTokenizer
size_t count_code_points(std::string_view text);

}  // namespace docbert::tok
