#include "engine/checksum.h"

#include "base/error.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace docbert {

uint64_t fnv1a64(std::string_view data, uint64_t h) {
  constexpr uint64_t kPrime = 1099511628211ull;
  for (const char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= kPrime;
  }
  return h;
}

uint64_t fnv1a64_file(const std::string& path) {
  std::error_code ec;
  DOCBERT_CHECK(std::filesystem::exists(path, ec), "{}: file not found", path);
  DOCBERT_CHECK(std::filesystem::is_regular_file(path, ec), "{}: not a regular file", path);
  std::ifstream in(path, std::ios::binary);
  DOCBERT_CHECK(in, "{}: cannot open the file: {}", path, std::strerror(errno));
  std::vector<char> buf(size_t{1} << 20);
  uint64_t h = kFnv1a64Basis;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a64(std::string_view(buf.data(), static_cast<size_t>(in.gcount())), h);
  }
  DOCBERT_CHECK(in.eof() && !in.bad(), "{}: read error", path);
  return h;
}

std::string checksum_hex(uint64_t h) { return fmt::format("{:016x}", h); }

}  // namespace docbert
