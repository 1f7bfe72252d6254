// tokenizer/word_vocab.h: the BiLSTM student's word vocabulary (word <-> id).
//
// Ids: [PAD] = 0 (zero-padded batches need no remapping), [UNK] = 1 (every out-of-vocabulary word), then the kept
// words by frequency, most frequent first, ties in byte order, so the same texts always give the same ids. Which
// texts to count is the caller's choice: the training split alone is the default everywhere in docbert (no
// test-set words leak into the model); hedwig/torchtext counted train + dev + test, which callers reproduce by
// passing all three splits. File format (save/load): UTF-8 text, one word per line, line n holding id n - 1.
#pragma once

#include "tokenizer/word_tokenizer.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace docbert::tok {

struct WordVocabOptions {
  // Keep words seen at least this often. 1 (torchtext's and so hedwig's default) keeps every training word: the
  // student's embeddings can then still learn rare words, and dropping singletons is a choice a caller makes.
  int64_t min_freq = 1;
  // Keep at most this many words besides the two specials (torchtext's max_size); 0 = no limit.
  int64_t max_size = 0;
};

class WordVocab {
 public:
  static constexpr int32_t kPadId = 0;
  static constexpr int32_t kUnkId = 1;
  static constexpr const char* kPad = "[PAD]";
  static constexpr const char* kUnk = "[UNK]";

  // Counts the words `tokenizer` finds in `texts` and keeps those allowed by `options`. A word spelled like a
  // special is not counted (the special already has its id). Throws when min_freq < 1 or max_size < 0.
  static WordVocab build(const std::vector<std::string>& texts, const WordTokenizer& tokenizer,
                         const WordVocabOptions& options = {});

  // Reads a vocabulary file. Errors name the file and line: a missing file, fewer than two lines, a first line
  // other than [PAD] or a second other than [UNK], an empty line, a word with whitespace in it (a CRLF file
  // included), a word that repeats an earlier line.
  static WordVocab load(const std::string& path);
  // Writes the vocabulary file (one word per line, each ending in '\n'); an Error names the file on failure.
  void save(const std::string& path) const;

  int32_t size() const { return static_cast<int32_t>(words_.size()); }
  const std::vector<std::string>& words() const { return words_; }  // index = id
  int32_t id(const std::string& word) const;                        // kUnkId when absent
  const std::string& word(int32_t id) const;                        // throws when outside [0, size())

  // The ids of `words`, kUnkId for each word not in the vocabulary.
  //   words: words from the tokenizer the vocabulary was built with
  //   oov:   when given, incremented by the number of words mapped to kUnkId (so one counter can run over a corpus)
  std::vector<int32_t> encode(const std::vector<std::string>& words, int64_t* oov = nullptr) const;
  // Same, for a text split into words by `tokenizer`.
  std::vector<int32_t> encode(std::string_view text, const WordTokenizer& tokenizer, int64_t* oov = nullptr) const;

 private:
  explicit WordVocab(std::vector<std::string> words);
  std::vector<std::string> words_;
  std::unordered_map<std::string, int32_t> ids_;
};

}  // namespace docbert::tok
