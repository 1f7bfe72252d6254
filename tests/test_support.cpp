#include "tests/test_support.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace docbert::test {

std::string shared_data(const std::string& sub) {
  const std::string path = std::string(DOCBERT_SOURCE_DIR) + "/../shared/data/" + sub;
  if (!std::filesystem::exists(path))
    throw std::runtime_error("shared data missing: " + path +
                             " (the tests read the real corpora in ../shared/data beside the checkout)");
  return path;
}

std::string pretrained_dir() {
  if (const char* dir = std::getenv("DOCBERT_PRETRAINED_DIR"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/docbert/models/all-minilm-l6-v2";
}

std::vector<std::string> file_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = content.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(content.substr(start, nl - start));
  if (start < content.size()) lines.push_back(content.substr(start));
  return lines;
}

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("docbert-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::write(const std::string& relative, std::string_view content) const {
  const std::filesystem::path p = path_ / relative;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
  return p.string();
}

}  // namespace docbert::test
