// libFuzzer harness: one document file of the folder-per-label format (parse_label_file).
#include "tests/fuzz/fuzz_common.h"
#include "train/data/readers/label_folders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docbert;
  fuzz::run_parser(data, size, [](std::string_view c, data::DatasetBuilder& b) {
    data::parse_label_file(c, "train/pos/fuzz.txt", "train/pos/fuzz.txt", "pos", data::Split::Train, b);
  });
  return 0;
}
