// tokenizer/basic_tokenizer.h: BERT's basic tokenizer (text -> words), identical to the normalizer and
// pre-tokenizer of HF's BertTokenizerFast.
//
// Steps, in HF's order: split off the never-split tokens (exact bytes, leftmost-longest, before any
// normalisation, like HF's added tokens); decode UTF-8 (tokenizer/utf8.h: invalid bytes become U+FFFD); clean (drop
// U+0000, U+FFFD and control characters, map whitespace to a space); put spaces around CJK ideographs; strip
// accents (NFD, then drop non-spacing marks); lower-case; split on whitespace and split off every punctuation
// character as a word of its own. Character classes: tokenizer/bert_unicode.h. ASCII text takes a table-driven
// fast path; only runs of non-ASCII bytes go through utf8proc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace docbert::tok {

struct BasicTokenizerOptions {
  bool lower_case = true;                // lower-case every character (HF do_lower_case)
  std::optional<bool> strip_accents;     // NFD + drop non-spacing marks; unset = follow lower_case (HF's null)
  bool split_cjk = true;                 // isolate CJK ideographs (HF tokenize_chinese_chars)
  std::vector<std::string> never_split;  // tokens kept whole and untouched wherever they occur, e.g. "[MASK]"
};

// The words of one text, stored back to back so that a warm Words allocates nothing.
struct Words {
  // 32-bit offsets keep a Span at 12 bytes; one text's words must fit (BasicTokenizer::split checks).
  static constexpr size_t kMaxBytes = UINT32_MAX;
  struct Span {
    uint32_t begin, end;  // byte range in `bytes`
    bool never_split;     // one of BasicTokenizerOptions::never_split, exactly as written in the text
  };
  std::string bytes;        // the normalised words, concatenated (valid UTF-8)
  std::vector<Span> spans;  // one per word, in text order

  void clear() {
    bytes.clear();
    spans.clear();
  }
  size_t size() const { return spans.size(); }
  std::string_view operator[](size_t i) const {
    return std::string_view(bytes).substr(spans[i].begin, spans[i].end - spans[i].begin);
  }
};

class BasicTokenizer {
 public:
  // options: see BasicTokenizerOptions; never_split entries must be non-empty.
  explicit BasicTokenizer(BasicTokenizerOptions options = {});

  // The words of `text`.
  //   text: UTF-8 bytes; ill-formed sequences are decoded like Python's bytes.decode("utf-8", "replace")
  //         and the replacement characters removed by the cleaner
  std::vector<std::string> tokenize(std::string_view text) const;

  // Same, into a reusable buffer (the allocation-free path WordPiece uses). Throws docbert::Error when the
  // words of text take more than Words::kMaxBytes (4 GiB - 1); normalisation can make them longer than the
  // text (a Hangul syllable's 3 bytes become three 3-byte jamo).
  //   text:  as for tokenize
  //   words: cleared, then filled with the words of text
  void split(std::string_view text, Words& words) const;

  const BasicTokenizerOptions& options() const { return options_; }
  bool strips_accents() const { return strip_accents_; }

 private:
  // Normalises and splits text that contains no never-split token, appending to words.
  void split_plain(std::string_view text, Words& words) const;

  BasicTokenizerOptions options_;
  bool strip_accents_;
};

}  // namespace docbert::tok
