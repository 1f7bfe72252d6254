// Catch2 main shared by the test executables. Tests run with 2 threads (this project's CPU size) unless
// DOCBERT_THREADS says otherwise, so the multithreaded paths are exercised.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "engine/parallel.h"

#include <cstdlib>

int main(int argc, char** argv) {
  const char* t = std::getenv("DOCBERT_THREADS");
  docbert::set_num_threads(t ? std::atoi(t) : 2);
  return Catch::Session().run(argc, argv);
}
