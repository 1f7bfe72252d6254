// train/data/utf8_check.h: where a row stops being UTF-8, for "<file>:<line>: invalid UTF-8 at byte N".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace docbert::data {

// Byte offset of the first ill-formed UTF-8 sequence in `s` (as tok::decode_utf8 judges it: overlong forms,
// surrogates and code points above U+10FFFF are ill-formed), or std::string_view::npos when `s` is valid.
size_t invalid_utf8_offset(std::string_view s);

// `s` with each ill-formed sequence replaced by U+FFFD (Python's bytes.decode("utf-8", "replace")), for values
// such as paths that only describe a dataset and must still be writable as JSON.
std::string to_valid_utf8(std::string_view s);

}  // namespace docbert::data
