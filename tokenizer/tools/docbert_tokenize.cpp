// docbert_tokenize: text -> BERT WordPiece ids, one document per line (tokenizer/wordpiece.h).
//
//   docbert_tokenize --vocab vocab.txt < docs.txt           # [101, ..., 102] per line, at most 512 ids
//   docbert_tokenize --dir bert-base-uncased/ --max-seq-len 0 < docs.txt   # pieces only
//
// Each input line is one document (a trailing \r is whitespace to the tokenizer, so CRLF input is fine);
// each output line is a JSON array of ids. Bytes that are not UTF-8 are read like Python's
// bytes.decode("utf-8", "replace"), then dropped by the cleaner.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "engine/error.h"
#include "tokenizer/wordpiece.h"

namespace {

using docbert::tok::WordPiece;

int run(int argc, char** argv) {
  CLI::App app{"docbert_tokenize: BERT WordPiece ids (identical to HF BertTokenizerFast) for each line of stdin"};
  std::string vocab, dir, truncation = "head";
  bool cased = false;
  int max_seq_len = 512, head_pieces = 128;
  auto* vocab_opt = app.add_option("--vocab", vocab, "vocab.txt, one token per line (uncased unless --cased)")
                        ->check(CLI::ExistingFile);
  app.add_option("--dir", dir, "HF tokenizer folder: vocab.txt + optional tokenizer_config.json")
      ->check(CLI::ExistingDirectory)
      ->excludes(vocab_opt);
  app.add_flag("--cased", cased, "keep case and accents (do_lower_case=False); only with --vocab")->needs(vocab_opt);
  app.add_option("--max-seq-len", max_seq_len,
                 "ids per document including [CLS] and [SEP]; 0 = every piece, no special tokens")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--truncation", truncation, "pieces kept from a longer document: head, tail or head+tail")
      ->capture_default_str()
      ->check(CLI::IsMember({"head", "tail", "head+tail"}));
  app.add_option("--head-pieces", head_pieces, "with --truncation head+tail: pieces from the start")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  DOCBERT_CHECK(!vocab.empty() || !dir.empty(), "one of --vocab FILE or --dir DIR is required");

  docbert::tok::WordPieceOptions options;
  options.lower_case = !cased;
  const WordPiece wp = dir.empty() ? WordPiece::from_vocab(vocab, options) : WordPiece::from_dir(dir);
  const auto mode = docbert::tok::parse_truncation(truncation);
  std::ios::sync_with_stdio(false);
  std::string line;
  fmt::memory_buffer out;
  while (std::getline(std::cin, line)) {
    const auto ids = wp.encode(line, max_seq_len, mode, head_pieces);
    fmt::format_to(std::back_inserter(out), "[{}]\n", fmt::join(ids, ","));
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  DOCBERT_CHECK(std::fflush(stdout) == 0, "cannot write the ids to stdout");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    const auto* err = dynamic_cast<const docbert::Error*>(&e);
    fmt::print(stderr, "docbert_tokenize: error: {}\n", err ? err->message() : std::string(e.what()));
    return 1;
  }
}
