// WordPiece throughput, single thread, on the Reuters DocBERT test + validation texts (4,962 documents,
// 4.1 MB), the same text bench/hf_tokenizer.py gives HF's Rust tokenizer; scripts/bench-tokenizer.sh runs both
// and prints the ratio. Throughput counts the document bytes (the text after the label column).
//
//   build-bench/bin/bench_tokenizer [--benchmark_filter=...]      (reads ../shared/data beside the checkout)
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "tokenizer/wordpiece.h"

namespace {

using docbert::tok::Truncation;
using docbert::tok::WordPiece;

const std::string kData = DOCBERT_SOURCE_DIR "/../shared/data";

// The texts of the two Reuters files, read as tests/golden/wordpiece.py reads them.
const std::vector<std::string>& documents() {
  static const std::vector<std::string> docs = [] {
    std::vector<std::string> out;
    for (const char* name : {"reuters_test.tsv", "reuters_validation.tsv"}) {
      const std::string path = kData + "/reuters21578/docbert-split/" + name;
      std::ifstream in(path, std::ios::binary);
      DOCBERT_CHECK(in.good(), "bench_tokenizer: cannot read {} (the benchmark needs ../shared/data)", path);
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line.substr(line.find('\t') + 1));
      }
    }
    return out;
  }();
  return docs;
}

int64_t total_bytes() {
  int64_t n = 0;
  for (const auto& d : documents()) n += static_cast<int64_t>(d.size());
  return n;
}

const WordPiece& tokenizer(bool lower_case) {
  static const auto make = [](bool lower) {
    docbert::tok::WordPieceOptions o;
    o.lower_case = lower;
    return WordPiece::from_vocab(kData + "/vocab/bert-base-uncased/vocab.txt", o);
  };
  static const WordPiece uncased = make(true), cased = make(false);
  return lower_case ? uncased : cased;
}

// Pieces only (HF: encode(add_special_tokens=False)), one document after another, one reused id vector.
void BM_WordPieceIds(benchmark::State& state) {
  const WordPiece& wp = tokenizer(state.range(0) != 0);
  std::vector<int32_t> ids;
  int64_t pieces = 0;
  for (auto _ : state) {
    for (const auto& d : documents()) {
      wp.tokenize_ids(d, ids);
      pieces += static_cast<int64_t>(ids.size());
    }
  }
  state.SetBytesProcessed(state.iterations() * total_bytes());
  state.counters["pieces/doc"] =
      static_cast<double>(pieces) / static_cast<double>(state.iterations() * documents().size());
}
BENCHMARK(BM_WordPieceIds)->ArgName("uncased")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// The model input: [CLS] pieces [SEP], head-truncated to 512 (a fresh vector per document, as a data loader has).
void BM_WordPieceEncode512(benchmark::State& state) {
  const WordPiece& wp = tokenizer(true);
  for (auto _ : state) {
    for (const auto& d : documents()) benchmark::DoNotOptimize(wp.encode(d, 512, Truncation::Head));
  }
  state.SetBytesProcessed(state.iterations() * total_bytes());
}
BENCHMARK(BM_WordPieceEncode512)->Unit(benchmark::kMillisecond);

// The basic tokenizer alone (text -> words), to see where the time goes.
void BM_BasicTokenizer(benchmark::State& state) {
  const auto& basic = tokenizer(true).basic_tokenizer();
  docbert::tok::Words words;
  for (auto _ : state) {
    for (const auto& d : documents()) basic.split(d, words);
  }
  state.SetBytesProcessed(state.iterations() * total_bytes());
}
BENCHMARK(BM_BasicTokenizer)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
