// libFuzzer harness: DocBERT IMDB rows (parse_imdb).
#include "tests/fuzz/fuzz_common.h"
#include "train/data/readers/imdb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docbert;
  fuzz::run_parser(data, size, [](std::string_view c, data::DatasetBuilder& b) {
    data::parse_imdb(c, "fuzz.txt", data::Split::Train, b);
  });
  return 0;
}
