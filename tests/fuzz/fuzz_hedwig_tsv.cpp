// libFuzzer harness: hedwig TSV rows (parse_hedwig_tsv).
#include "tests/fuzz/fuzz_common.h"
#include "train/data/readers/hedwig_tsv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docbert;
  fuzz::run_parser(data, size, [](std::string_view c, data::DatasetBuilder& b) {
    data::parse_hedwig_tsv(c, "fuzz.tsv", data::Split::Train, b);
  });
  return 0;
}
