#include "tokenizer/word_vocab.h"

#include "base/error.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <utility>

namespace docbert::tok {

WordVocab::WordVocab(std::vector<std::string> words) : words_(std::move(words)) {
  ids_.reserve(words_.size());
  for (size_t i = 0; i < words_.size(); ++i) ids_.emplace(words_[i], static_cast<int32_t>(i));
}

WordVocab WordVocab::build(const std::vector<std::string>& texts, const WordTokenizer& tokenizer,
                           const WordVocabOptions& options) {
  DOCBERT_CHECK(options.min_freq >= 1, "word vocabulary: min_freq {} must be at least 1", options.min_freq);
  DOCBERT_CHECK(options.max_size >= 0, "word vocabulary: max_size {} must be 0 (no limit) or positive",
                options.max_size);
  std::unordered_map<std::string, int64_t> counts;
  for (const std::string& text : texts)
    for (std::string& w : tokenizer.tokenize(text))
      if (w != kPad && w != kUnk) ++counts[std::move(w)];

  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [w, n] : counts)
    if (n >= options.min_freq) kept.emplace_back(w, n);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;  // std::string compares bytes unsigned
  });
  if (options.max_size > 0 && static_cast<int64_t>(kept.size()) > options.max_size)
    kept.resize(static_cast<size_t>(options.max_size));
  DOCBERT_CHECK(kept.size() < static_cast<size_t>(std::numeric_limits<int32_t>::max()) - 2,
                "word vocabulary: {} words do not fit int32 ids", kept.size());

  std::vector<std::string> words = {kPad, kUnk};
  words.reserve(kept.size() + 2);
  for (auto& [w, n] : kept) words.push_back(std::move(w));
  return WordVocab(std::move(words));
}

WordVocab WordVocab::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DOCBERT_CHECK(in, "cannot open word vocabulary '{}'", path);
  std::vector<std::string> words;
  std::unordered_map<std::string, size_t> line_of;
  for (std::string line; std::getline(in, line);) {
    const size_t n = words.size() + 1;
    DOCBERT_CHECK(!line.empty(), "{}:{}: empty line in word vocabulary", path, n);
    DOCBERT_CHECK(line.find_first_of(" \t\r\v\f") == std::string::npos,
                  "{}:{}: word '{}' contains whitespace (one word per line, '\\n' line ends)", path, n, line);
    const auto [it, fresh] = line_of.emplace(line, n);
    DOCBERT_CHECK(fresh, "{}:{}: word '{}' repeats line {}", path, n, line, it->second);
    words.push_back(std::move(line));
  }
  DOCBERT_CHECK(!in.bad(), "cannot read word vocabulary '{}'", path);
  DOCBERT_CHECK(words.size() >= 2, "{}: word vocabulary has {} lines; it must start with {} and {}", path, words.size(),
                kPad, kUnk);
  DOCBERT_CHECK(words[kPadId] == kPad, "{}:1: expected {}, found '{}'", path, kPad, words[kPadId]);
  DOCBERT_CHECK(words[kUnkId] == kUnk, "{}:2: expected {}, found '{}'", path, kUnk, words[kUnkId]);
  return WordVocab(std::move(words));
}

void WordVocab::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  DOCBERT_CHECK(out, "cannot create word vocabulary file '{}'", path);
  for (const std::string& w : words_) out << w << '\n';
  out.close();
  DOCBERT_CHECK(out, "cannot write word vocabulary file '{}'", path);
}

int32_t WordVocab::id(const std::string& word) const {
  const auto it = ids_.find(word);
  return it == ids_.end() ? kUnkId : it->second;
}

const std::string& WordVocab::word(int32_t id) const {
  DOCBERT_CHECK(id >= 0 && id < size(), "word vocabulary: id {} is outside [0, {})", id, size());
  return words_[static_cast<size_t>(id)];
}

std::vector<int32_t> WordVocab::encode(const std::vector<std::string>& words, int64_t* oov) const {
  std::vector<int32_t> ids;
  ids.reserve(words.size());
  for (const std::string& w : words) ids.push_back(id(w));
  if (oov) *oov += std::count(ids.begin(), ids.end(), kUnkId);
  return ids;
}

std::vector<int32_t> WordVocab::encode(std::string_view text, const WordTokenizer& tokenizer, int64_t* oov) const {
  return encode(tokenizer.tokenize(text), oov);
}

}  // namespace docbert::tok
