// libFuzzer harness: Reuters-21578 SGML (parse_reuters_sgml) and the ModApte selection with a dev TSV taken from
// the second half of the input (build_reuters_modapte).
#include "tests/fuzz/fuzz_common.h"
#include "train/data/readers/reuters_sgml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docbert;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const size_t cut = bytes.find('\x01');  // SGML | dev TSV
  const std::string_view sgml = bytes.substr(0, cut);
  const std::string_view dev = cut == std::string_view::npos ? std::string_view() : bytes.substr(cut + 1);
  data::ReadOptions options;
  try {
    const auto articles = data::parse_reuters_sgml(sgml, "fuzz.sgm");
    data::build_reuters_modapte(articles, dev, "fuzz-dev.tsv", options);
  } catch (const docbert::Error&) {
  }
  return 0;
}
