#include "base/file_io.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/error.h"

namespace docbert {

std::string read_file(const std::string& path, const char* what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  DOCBERT_CHECK(std::filesystem::exists(status), "{}: {} not found", path, what);
  // A folder or a FIFO opens fine and then reads as nothing or blocks.
  DOCBERT_CHECK(std::filesystem::is_regular_file(status), "{}: {} is not a regular file", path, what);
  std::ifstream in(path, std::ios::binary);
  DOCBERT_CHECK(in, "{}: cannot open the {}: {}", path, what, std::strerror(errno));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DOCBERT_CHECK(!in.bad(), "{}: read error in the {}", path, what);
  return content;
}

void write_file_atomic(const std::string& path, const std::string& content, const char* what) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    DOCBERT_CHECK(out, "{}: cannot write the {}: {}", path, what, std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      const int err = errno;
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      DOCBERT_THROW("{}: cannot write the {}: {}", path, what, std::strerror(err));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    DOCBERT_THROW("{}: cannot write the {}: {}", path, what, ec.message());
  }
}

}  // namespace docbert
