// libFuzzer harness: CSV with a header (parse_csv).
#include "tests/fuzz/fuzz_common.h"
#include "train/data/readers/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docbert;
  fuzz::run_parser(data, size, [](std::string_view c, data::DatasetBuilder& b) {
    data::parse_csv(c, "fuzz.csv", data::Split::Train, b);
  });
  return 0;
}
