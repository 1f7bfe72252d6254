#include "tokenizer/word_tokenizer.h"

#include "base/error.h"

namespace docbert::tok {

const char* word_tokenizer_name(WordTokenizerKind kind) {
  return kind == WordTokenizerKind::Basic ? "basic" : "hedwig";
}

WordTokenizerKind parse_word_tokenizer(const std::string& name) {
  if (name == "basic") return WordTokenizerKind::Basic;
  if (name == "hedwig") return WordTokenizerKind::Hedwig;
  DOCBERT_THROW("unknown word tokenizer '{}' (expected 'basic' or 'hedwig')", name);
}

namespace {

// [A-Za-z0-9(),!?'`]: the characters clean_string keeps.
bool hedwig_keeps(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '(' || c == ')' ||
         c == ',' || c == '!' || c == '?' || c == '\'' || c == '`';
}

}  // namespace

std::vector<std::string> hedwig_clean_string(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !hedwig_keeps(static_cast<unsigned char>(text[i]))) ++i;
    if (i == text.size()) break;
    std::string& w = words.emplace_back();
    for (; i < text.size() && hedwig_keeps(static_cast<unsigned char>(text[i])); ++i)
      w.push_back(text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i]);
  }
  return words;
}

WordTokenizer::WordTokenizer(WordTokenizerKind kind)
    : kind_(kind), basic_(BasicTokenizerOptions{true, std::nullopt, true, {"[MASK]"}}) {}

std::vector<std::string> WordTokenizer::tokenize(std::string_view text) const {
  return kind_ == WordTokenizerKind::Basic ? basic_.tokenize(text) : hedwig_clean_string(text);
}

}  // namespace docbert::tok
