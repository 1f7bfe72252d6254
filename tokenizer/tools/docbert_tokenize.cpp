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

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "base/error.h"
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
  // Checked here rather than by encode(), so that bad options fail on empty input too and the errors name the flags.
  DOCBERT_CHECK(max_seq_len == 0 || max_seq_len >= 2,
                "--max-seq-len must be 0 (every piece, no special tokens) or at least 2 ([CLS] and [SEP]), got {}",
                max_seq_len);
  const auto mode = docbert::tok::parse_truncation(truncation);
  DOCBERT_CHECK(mode != docbert::tok::Truncation::HeadTail || max_seq_len == 0 || head_pieces <= max_seq_len - 2,
                "--head-pieces {} must be at most --max-seq-len - 2 = {} with --truncation head+tail", head_pieces,
                max_seq_len - 2);

  docbert::tok::WordPieceOptions options;
  options.lower_case = !cased;
  const WordPiece wp = dir.empty() ? WordPiece::from_vocab(vocab, options) : WordPiece::from_dir(dir);
  if (max_seq_len > 0) {
    for (const std::string* t : {&wp.options().cls_token, &wp.options().sep_token}) {
      DOCBERT_CHECK(wp.contains(*t),
                    "{}: vocabulary has no '{}', which --max-seq-len {} needs (0 gives the pieces alone)",
                    wp.vocab_path(), *t, max_seq_len);
    }
  }
  std::ios::sync_with_stdio(false);
  std::string line;
  fmt::memory_buffer out;
  const auto write_out = [&] {
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) {
      DOCBERT_THROW("writing the output failed: {}", std::strerror(errno));
    }
    out.clear();
  };
  while (std::getline(std::cin, line)) {
    const auto ids = wp.encode(line, max_seq_len, mode, head_pieces);
    fmt::format_to(std::back_inserter(out), "[{}]\n", fmt::join(ids, ","));
    if (out.size() > (1 << 16)) write_out();
  }
  write_out();
  DOCBERT_CHECK(std::fflush(stdout) == 0, "writing the output failed: {}", std::strerror(errno));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return docbert::run_main("docbert_tokenize", [&] { return run(argc, argv); });
}
