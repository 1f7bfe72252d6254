// tokenizer/wordpiece.h: BERT's WordPiece tokenizer, id-for-id identical to HF's BertTokenizerFast.
//
// Text -> words (BasicTokenizer, with the special tokens never split) -> pieces by greedy longest-match-first
// against the vocabulary, "##" marking a piece that continues a word; a word with more than 100 code points,
// or with a part no piece matches, becomes [UNK] as a whole. encode() adds [CLS] ... [SEP] and truncates to
// the model's length. docs/tokenizer.md lists where HF's slow and fast tokenizers differ and which one this
// follows (the fast one), and tests/golden/wordpiece.py holds the golden ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/basic_tokenizer.h"

namespace docbert::tok {

// Which pieces encode() keeps when a document has more than max_seq_len - 2.
enum class Truncation {
  Head,      // the first pieces (DocBERT, and HF's truncation=True)
  Tail,      // the last pieces (HF's truncation_side="left")
  HeadTail,  // head_pieces first pieces + the rest from the end (Sun et al. 2019, "How to Fine-Tune BERT")
};

// "head", "tail" or "head+tail"; throws docbert::Error naming the valid values otherwise.
Truncation parse_truncation(const std::string& name);
const char* truncation_name(Truncation t);

struct WordPieceOptions {
  bool lower_case = true;             // HF do_lower_case
  std::optional<bool> strip_accents;  // HF strip_accents; unset (null) = follow lower_case
  bool split_cjk = true;              // HF tokenize_chinese_chars
  std::string unk_token = "[UNK]";    // special tokens: never split, looked up as they are
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
  int max_word_chars = 100;  // longer words (in code points) become [UNK] (HF max_input_chars_per_word)
};

// Reads the keys of an HF tokenizer_config.json that change tokenization: do_lower_case, strip_accents
// (true, false or null), tokenize_chinese_chars and the five special tokens (a string or {"content": ...});
// other keys are ignored.
//   path: the JSON file; throws docbert::Error naming it when it cannot be read, is not a JSON object, or a
//         key has the wrong type
WordPieceOptions read_tokenizer_config(const std::string& path);

class WordPiece {
 public:
  // Loads a vocabulary: one token per line, id = line number - 1 (a trailing \r is dropped).
  //   vocab_path: vocab.txt; throws docbert::Error "<file>: ..." or "<file>:<line>: ..." when it cannot be read,
  //               is empty, has an empty line or a duplicate token, or lacks options.unk_token
  //   options:    normalisation and special tokens (from_dir reads them from tokenizer_config.json)
  static WordPiece from_vocab(const std::string& vocab_path, const WordPieceOptions& options = {});
  // Loads dir/vocab.txt with the options of dir/tokenizer_config.json, or the defaults when there is none (an
  // entry that exists but cannot be read, such as a dangling link into an HF cache, is an error).
  //   dir: an HF tokenizer folder (bert-base-uncased layout)
  static WordPiece from_dir(const std::string& dir);

  // The pieces of text as ids / as strings, without special tokens and without truncation.
  //   text: UTF-8 bytes (ill-formed sequences: see BasicTokenizer::tokenize)
  std::vector<int32_t> tokenize_ids(std::string_view text) const;
  std::vector<std::string> tokenize(std::string_view text) const;
  // Same as tokenize_ids, into a reusable vector.
  //   ids: cleared, then filled
  void tokenize_ids(std::string_view text, std::vector<int32_t>& ids) const;

  // The model input: [CLS] pieces [SEP] with at most max_seq_len ids, truncated by `truncation`.
  //   text:        UTF-8 bytes
  //   max_seq_len: the model's length (DocBERT: 512, so at most 510 pieces); 0 = all pieces, no special tokens
  //   truncation:  which pieces to keep when there are more than max_seq_len - 2
  //   head_pieces: for Truncation::HeadTail, pieces kept from the start (0..max_seq_len - 2); the rest of the
  //                budget comes from the end
  std::vector<int32_t> encode(std::string_view text, int max_seq_len, Truncation truncation = Truncation::Head,
                              int head_pieces = 128) const;

  // The id of a token; unk_id() when the vocabulary has no such token (HF's convert_tokens_to_ids).
  int32_t token_to_id(std::string_view token) const;
  // Whether the vocabulary has the token.
  bool contains(std::string_view token) const;
  // The token of an id in [0, vocab_size()); throws docbert::Error otherwise.
  const std::string& id_to_token(int32_t id) const;
  int32_t vocab_size() const { return static_cast<int32_t>(tokens_.size()); }

  // Ids of the special tokens; each throws docbert::Error naming the vocabulary file when the token is missing.
  int32_t unk_id() const { return unk_id_; }
  int32_t cls_id() const { return special_id(cls_id_, options_.cls_token); }
  int32_t sep_id() const { return special_id(sep_id_, options_.sep_token); }
  int32_t pad_id() const { return special_id(pad_id_, options_.pad_token); }
  int32_t mask_id() const { return special_id(mask_id_, options_.mask_token); }

  const WordPieceOptions& options() const { return options_; }
  const BasicTokenizer& basic_tokenizer() const { return basic_; }
  const std::string& vocab_path() const { return path_; }

 private:
  // Open-addressing hash table from piece bytes to id: one probe sequence over a flat array, keys compared in
  // place in one byte arena, so a lookup costs a hash of the few bytes of a word and usually one comparison.
  class PieceTable {
   public:
    // Replaces the contents with `entries` (key -> id); keys must be distinct (the vocabulary reader checks).
    void assign(const std::vector<std::pair<std::string_view, int32_t>>& entries);
    // The id of key, or -1 (also when the table is empty: default-constructed or moved from).
    int32_t find(std::string_view key) const;
    size_t max_key_bytes() const { return max_key_bytes_; }

   private:
    struct Slot {
      uint32_t tag = 0;     // high half of the key's hash, compared before the bytes
      uint32_t offset = 0;  // key bytes: arena_[offset, offset + length)
      uint32_t length = 0;
      int32_t id = -1;  // -1: empty slot
    };
    std::vector<Slot> slots_;  // size a power of two, at most half full
    std::string arena_;
    size_t max_key_bytes_ = 0;
  };

  WordPiece(std::string path, const WordPieceOptions& options, std::vector<std::string> tokens);
  int32_t special_id(int32_t id, const std::string& token) const;
  // Appends the pieces of one word (no spaces, normalised) to ids.
  void word_to_ids(std::string_view word, std::vector<int32_t>& ids) const;

  std::string path_;
  WordPieceOptions options_;
  BasicTokenizer basic_;
  std::vector<std::string> tokens_;  // id -> token
  PieceTable whole_;                 // tokens that start a word
  PieceTable suffix_;                // "##x" tokens, keyed by x
  int32_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, mask_id_ = -1;
};

}  // namespace docbert::tok
