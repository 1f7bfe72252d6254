// base/error.h: the one error path of docbert.
//
// Library code never prints and never exits: it throws docbert::Error, which carries the message and the
// file:line that raised it. Executables catch it in main(), print one line plus a hint, and return non-zero.
// CUDA/cuBLAS/cuDNN statuses go through the same type (kernels/cuda_check.h).
#pragma once

#include <fmt/format.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace docbert {

class Error : public std::runtime_error {
 public:
  // what() is "<message> [<file>:<line>]"; message() is the message alone.
  Error(std::string message, const char* file, int line);
  const std::string& message() const { return message_; }
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string message_;
  const char* file_;
  int line_;
};

// Throws docbert::Error with a fmt-formatted message.
#define DOCBERT_THROW(...) throw ::docbert::Error(::fmt::format(__VA_ARGS__), __FILE__, __LINE__)

// Throws when `cond` is false; the message should name the op, the argument and what was expected.
#define DOCBERT_CHECK(cond, ...)             \
  do {                                       \
    if (!(cond)) DOCBERT_THROW(__VA_ARGS__); \
  } while (0)

// The body of a command-line tool's main(): returns body()'s exit status, or prints "<program>: error: <message>"
// on stderr and returns 1 for any exception (a docbert::Error shows its message without the file:line).
int run_main(const char* program, const std::function<int()>& body);

}  // namespace docbert
