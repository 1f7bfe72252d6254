#include "train/data/text_lines.h"

#include "engine/error.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace docbert::data {

std::string read_file(const std::string& path, const char* what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  DOCBERT_CHECK(std::filesystem::exists(status), "{}: {} not found", path, what);
  DOCBERT_CHECK(std::filesystem::is_regular_file(status), "{}: {} is not a regular file", path, what);
  std::ifstream in(path, std::ios::binary);
  DOCBERT_CHECK(in, "{}: cannot open the {}", path, what);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DOCBERT_CHECK(!in.bad(), "{}: read error in the {}", path, what);
  return content;
}

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
