#include "base/error.h"

#include <cstdio>

namespace docbert {

namespace {
// Keep messages short: show the path below the repository root, not the build machine's prefix.
const char* short_path(const char* file) {
  std::string f(file);
  for (const char* top : {"/engine/", "/kernels/", "/models/", "/tokenizer/", "/train/", "/bench/", "/tests/"}) {
    auto pos = f.rfind(top);
    if (pos != std::string::npos) return file + pos + 1;
  }
  return file;
}
}  // namespace

Error::Error(std::string message, const char* file, int line)
    : std::runtime_error(fmt::format("{} [{}:{}]", message, short_path(file), line)),
      message_(std::move(message)),
      file_(short_path(file)),
      line_(line) {}

int run_main(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fflush(stdout);  // what the tool printed before the error comes first
    fmt::print(stderr, "{}: error: {}\n", program, e.message());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "{}: error: {}\n", program, e.what());
  }
  return 1;
}

}  // namespace docbert
