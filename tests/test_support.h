// tests/test_support.h: what several test executables share: the real corpora beside the checkout and scratch
// folders (part of docbert_test_main).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace docbert::test {

// DOCBERT_SOURCE_DIR/../shared/data/<sub>. Throws (failing the test, never skipping it) when it is missing.
std::string shared_data(const std::string& sub);

// The pretrained checkpoint of the tests that need real weights: $DOCBERT_PRETRAINED_DIR, else
// $HOME/.cache/docbert/models/all-minilm-l6-v2 (where scripts/run-tests.sh fetches it).
std::string pretrained_dir();

// The lines of a file, without their "\n" (the tests compare rows byte for byte).
std::vector<std::string> file_lines(const std::string& path);

// DOCBERT_TEST_GPU=1: this invocation checks the CUDA backend, and tests/test_main.cpp has made sure a usable
// device exists (or runs only the [nodevice] tests). The op table then compares every op on CUDA with the CPU.
bool gpu_run();

// A fresh folder under the system temp folder, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // path()/name as a string (nothing is created).
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `content` to path()/relative, creating folders; returns the full path.
  std::string write(const std::string& relative, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace docbert::test
