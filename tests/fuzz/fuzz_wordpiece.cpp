// libFuzzer harness: WordPiece on arbitrary bytes with the real bert-base-uncased vocabulary (DOCBERT_FUZZ_VOCAB),
// uncased and cased, checking what must hold for any input: ids inside the vocabulary, encode() within
// max_seq_len and framed by [CLS] ... [SEP], and every truncation mode keeping the same number of pieces.
#include "base/error.h"
#include "tokenizer/wordpiece.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace {

std::unique_ptr<docbert::tok::WordPiece> uncased, cased;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_wordpiece: violated: %s\n", what);
    std::abort();
  }
}

void exercise(const docbert::tok::WordPiece& wp, std::string_view text) {
  using docbert::tok::Truncation;
  const std::vector<int32_t> pieces = wp.tokenize_ids(text);
  for (int32_t id : pieces) check(id >= 0 && id < wp.vocab_size(), "piece id inside the vocabulary");
  const int max_len = 16;
  const size_t kept = std::min<size_t>(pieces.size(), max_len - 2);
  for (Truncation t : {Truncation::Head, Truncation::Tail, Truncation::HeadTail}) {
    const std::vector<int32_t> ids = wp.encode(text, max_len, t, 5);
    check(ids.size() == kept + 2, "encode keeps min(pieces, max_seq_len - 2) pieces plus [CLS] and [SEP]");
    check(ids.front() == wp.cls_id() && ids.back() == wp.sep_id(), "encode frames with [CLS] ... [SEP]");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* vocab = std::getenv("DOCBERT_FUZZ_VOCAB");
  if (!vocab) {
    std::fprintf(stderr, "fuzz_wordpiece: set DOCBERT_FUZZ_VOCAB to a vocab.txt (bert-base-uncased)\n");
    std::exit(2);
  }
  try {
    docbert::tok::WordPieceOptions options;
    uncased = std::make_unique<docbert::tok::WordPiece>(docbert::tok::WordPiece::from_vocab(vocab, options));
    options.lower_case = false;
    cased = std::make_unique<docbert::tok::WordPiece>(docbert::tok::WordPiece::from_vocab(vocab, options));
  } catch (const docbert::Error& e) {
    std::fprintf(stderr, "fuzz_wordpiece: %s\n", e.what());
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  exercise(*uncased, text);
  exercise(*cased, text);
  return 0;
}
