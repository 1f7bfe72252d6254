// tests/fuzz/fuzz_common.h: what every libFuzzer harness shares.
//
// A parser given arbitrary bytes may only return or throw docbert::Error (a clear message for the user); any
// other exception, a crash, a sanitizer report, a hang or runaway memory is a finding. Each input is parsed
// twice, with the strict policy (first bad row throws) and with skip_bad_rows, so both paths are covered.
#pragma once

#include "base/error.h"
#include "train/data/dataset_builder.h"
#include "train/data/read_options.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace docbert::fuzz {

// Runs parse(content, builder) and builder.finish() under both bad-row policies; docbert::Error is expected.
template <class Parse>
void run_parser(const uint8_t* data, size_t size, Parse&& parse) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  for (bool skip : {false, true}) {
    data::ReadOptions options;
    options.max_line_bytes = 1 << 12;  // small, so the limit's path is reached by short inputs too
    options.skip_bad_rows = skip;
    try {
      data::DatasetBuilder builder("fuzz", options, std::nullopt);
      builder.begin_split(data::Split::Train, "fuzz");
      parse(content, builder);
      builder.finish();
    } catch (const docbert::Error&) {
    }
  }
}

}  // namespace docbert::fuzz
