// libFuzzer harness: R8 and R52 rows (parse_r8, parse_r52; the first byte picks which).
#include "tests/fuzz/fuzz_common.h"
#include "train/data/readers/r8_r52.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docbert;
  const bool r52 = size > 0 && (data[0] & 1);
  fuzz::run_parser(data, size, [r52](std::string_view c, data::DatasetBuilder& b) {
    if (r52) {
      data::parse_r52(c, "fuzz-r52.txt", data::Split::Train, b);
    } else {
      b.set_label_names(data::r8_label_names(), "R8's fixed label list");  // parse_r8's precondition, as read_r8
      data::parse_r8(c, "fuzz-r8.txt", data::Split::Train, b);
    }
  });
  return 0;
}
