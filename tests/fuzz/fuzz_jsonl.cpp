// libFuzzer harness: JSONL documents (parse_jsonl), also the canonical folder's row format.
#include "tests/fuzz/fuzz_common.h"
#include "train/data/readers/jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docbert;
  fuzz::run_parser(data, size, [](std::string_view c, data::DatasetBuilder& b) {
    data::parse_jsonl(c, "fuzz.jsonl", data::Split::Train, b);
  });
  return 0;
}
