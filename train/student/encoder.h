// train/student/encoder.h: text -> the student's token ids, and the tokenizer files of a student folder.
//
// Four kinds, one id space each (the rows of LSTM_reg's embed.weight):
//   word           tok::WordTokenizer Basic (BERT's BasicTokenizer, uncased, "[MASK]" kept whole) + tok::WordVocab
//   word-hedwig    tok::WordTokenizer Hedwig (hedwig's clean_string, quirks included) + tok::WordVocab
//   wordpiece      tok::WordPiece pieces of a BERT vocab.txt (uncased defaults), without [CLS]/[SEP]: a BiLSTM
//                  needs no sentinels, and the teacher's embedding table fits the ids as they are
//   sentencepiece  a tok::SentencePieceModel ([PAD] 0, [UNK] 1, no BOS/EOS)
//
// A folder holds the vocabulary (vocab.txt: the WordVocab file or the WordPiece vocabulary; spiece.model for
// SentencePiece) and student_tokenizer.json {"kind": "<kind>", "max_tokens": N}. The model's files
// (models/lstm_reg) sit beside them: train/student/model_dir.h writes and reads both.
#pragma once

#include "tokenizer/sentencepiece_model.h"
#include "tokenizer/word_tokenizer.h"
#include "tokenizer/word_vocab.h"
#include "tokenizer/wordpiece.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace docbert::train {

enum class StudentTokenizerKind { Word, WordHedwig, WordPiece, SentencePiece };
const char* student_tokenizer_name(StudentTokenizerKind kind);  // "word", "word-hedwig", "wordpiece", "sentencepiece"
// The inverse; anything else throws naming `source` (a file or a flag) and the accepted names.
StudentTokenizerKind parse_student_tokenizer(const std::string& name, const std::string& source);

class StudentEncoder {
 public:
  static constexpr const char* kConfigFile = "student_tokenizer.json";
  static constexpr const char* kVocabFile = "vocab.txt";             // word and wordpiece kinds
  static constexpr const char* kSentencePieceFile = "spiece.model";  // sentencepiece

  // A word encoder whose vocabulary is counted over `texts` (tok::WordVocab::build).
  //   texts       the documents to count (docbert's default: the training split; the transfer set's texts add
  //               "[MASK]" as a word of its own with the Basic tokenizer)
  //   kind        Basic ("word") or Hedwig ("word-hedwig")
  //   options     min_freq, max_size (WordVocab::build's checks)
  //   max_tokens  ids kept per document, the first ones; 0 = whole documents (hedwig's LSTM reads every word)
  static StudentEncoder build_words(const std::vector<std::string>& texts, tok::WordTokenizerKind kind,
                                    const tok::WordVocabOptions& options, int64_t max_tokens);
  // A WordPiece encoder over a BERT vocabulary (tok::WordPiece::from_vocab with the uncased defaults).
  //   vocab_txt   one token per line; must hold [UNK]
  //   max_tokens  as in build_words
  static StudentEncoder from_wordpiece(const std::string& vocab_txt, int64_t max_tokens);
  // A SentencePiece encoder (tok::SentencePieceModel::load: [PAD] 0, [UNK] 1).
  //   model_path  a .model file
  //   max_tokens  as in build_words
  static StudentEncoder from_sentencepiece(const std::string& model_path, int64_t max_tokens);

  // Reads dir/student_tokenizer.json and the vocabulary its kind names. student_tokenizer.json is strict: "kind" and
  // "max_tokens" are required, another key, a value of the wrong type, an unknown kind or a negative max_tokens is an
  // error naming the file; vocabulary errors name theirs.
  static StudentEncoder load(const std::string& dir);
  // Writes the vocabulary file and then student_tokenizer.json into `dir` (created when missing; other files are
  // kept), each to a temporary name renamed over the old one, so neither is ever half-written.
  void save(const std::string& dir) const;

  // The ids of `text` (UTF-8), the first max_tokens() of them when that is > 0. A document without a single token
  // (empty, only punctuation for word-hedwig) becomes one [UNK]: the LSTM needs length >= 1, and [UNK] is what an
  // unreadable document is to the model.
  //   oov  when given, incremented by the [UNK] ids among those returned (the empty document's placeholder excluded)
  std::vector<int32_t> encode(std::string_view text, int64_t* oov = nullptr) const;
  // encode() of every text, in parallel (engine/parallel.h); the result does not depend on the thread count.
  //   oov  when given, incremented by the sum of encode()'s counts
  std::vector<std::vector<int32_t>> encode_all(const std::vector<std::string>& texts, int64_t* oov = nullptr) const;

  StudentTokenizerKind kind() const { return kind_; }
  std::string kind_name() const { return student_tokenizer_name(kind_); }
  int64_t max_tokens() const { return max_tokens_; }
  // Changes the truncation length (docbert_predict --max-tokens); 0 = whole documents, negative is an error.
  void set_max_tokens(int64_t max_tokens);
  // V: LSTM_reg's vocab_size.
  int64_t vocab_size() const;
  // The [PAD] row (LstmRegConfig::pad_id): 0 for word and SentencePiece vocabularies, WordPiece's [PAD], or -1 for a
  // WordPiece vocabulary without one.
  int32_t pad_id() const;
  int32_t unk_id() const;
  // The word list (id -> word) of the word kinds, for embedding initialisation; null for the other kinds.
  const tok::WordVocab* words() const { return words_.get(); }
  // The WordPiece tokenizer of the wordpiece kind (its tokens feed the teacher-table initialisation); null otherwise.
  const tok::WordPiece* wordpiece() const { return wordpiece_.get(); }

 private:
  StudentEncoder(StudentTokenizerKind kind, int64_t max_tokens);

  StudentTokenizerKind kind_;
  int64_t max_tokens_ = 0;
  // The word kinds set the first two, wordpiece and sentencepiece their own one. Shared and immutable, so an encoder
  // copies cheaply (a SentencePieceModel cannot be copied at all) and threads share it.
  std::shared_ptr<const tok::WordTokenizer> word_tokenizer_;
  std::shared_ptr<const tok::WordVocab> words_;
  std::shared_ptr<const tok::WordPiece> wordpiece_;
  std::shared_ptr<const tok::SentencePieceModel> sentencepiece_;
};

}  // namespace docbert::train
