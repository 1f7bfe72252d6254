// train/data/text_lines.h: line splitting shared by the line-based readers (whole files come from
// docbert::read_file, base/file_io.h, included here for them).
#pragma once

#include "base/file_io.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace docbert::data {

// Splits in-memory content into lines. A line ends at "\n"; a "\r" before it is dropped (CRLF files). The
// last line need not end in a newline, and the empty tail after a final newline is not a line.
class LineReader {
 public:
  explicit LineReader(std::string_view content) : rest_(content) {}
  // Sets `line` to the next line and returns true, or returns false at the end.
  bool next(std::string_view& line);
  // 1-based number of the line `next` returned last.
  int64_t line_number() const { return line_number_; }

 private:
  std::string_view rest_;
  int64_t line_number_ = 0;
};

}  // namespace docbert::data
