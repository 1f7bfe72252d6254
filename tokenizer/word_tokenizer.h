// tokenizer/word_tokenizer.h: the word tokenizers of the BiLSTM student (text -> words for tokenizer/word_vocab.h).
//
// Two choices. Basic (the default) is BERT's BasicTokenizer, uncased: lower-case, strip accents, split off every
// punctuation character, isolate CJK ideographs; "[MASK]" (the transfer set's mask token) is kept whole. Hedwig is
// hedwig's clean_string (castorini/hedwig datasets/reuters.py), reproduced exactly so that LSTM_reg baselines see
// hedwig's words, quirks included: punctuation in (),!?'` stays glued to words ("shares," is one word), every
// other non-alphanumeric character and every non-ASCII character is a separator ("u.s." -> "u", "s"; "zürich"
// -> "z", "rich"), and "[MASK]" becomes the ordinary word "mask".
#pragma once

#include "tokenizer/basic_tokenizer.h"

#include <string>
#include <string_view>
#include <vector>

namespace docbert::tok {

enum class WordTokenizerKind { Basic, Hedwig };
const char* word_tokenizer_name(WordTokenizerKind kind);          // "basic", "hedwig"
WordTokenizerKind parse_word_tokenizer(const std::string& name);  // throws docbert::Error naming both

// hedwig's clean_string:
//   re.sub(r"[^A-Za-z0-9(),!?\'`]", " ", s); re.sub(r"\s{2,}", " ", s); s.lower().strip().split()
// i.e. the maximal runs of [A-Za-z0-9(),!?'`], lower-cased. Python applies it to the decoded str, one code point
// at a time; every byte of a multi-byte UTF-8 sequence is >= 0x80 and so outside the class, which makes the byte
// loop here give the same words for any UTF-8 input (and treat ill-formed bytes as separators).
//   text: UTF-8 bytes
std::vector<std::string> hedwig_clean_string(std::string_view text);

class WordTokenizer {
 public:
  // kind: Basic (BERT's BasicTokenizer, uncased, never splitting "[MASK]") or Hedwig (hedwig_clean_string)
  explicit WordTokenizer(WordTokenizerKind kind = WordTokenizerKind::Basic);

  // The words of `text` (UTF-8 bytes), in order.
  std::vector<std::string> tokenize(std::string_view text) const;

  WordTokenizerKind kind() const { return kind_; }

 private:
  WordTokenizerKind kind_;
  BasicTokenizer basic_;
};

}  // namespace docbert::tok
