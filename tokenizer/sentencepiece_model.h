// tokenizer/sentencepiece_model.h: a SentencePiece subword model for the student, trained in memory.
//
// Wraps libsentencepiece (Debian 0.1.97): training from texts held by the caller (no temporary files), the
// .model file (SentencePiece's serialized ModelProto, readable by every SentencePiece binding), and encode/decode.
// Ids are the student's: [PAD] = 0 so that zero-padded batches need no remapping, [UNK] = 1, and no BOS/EOS (a
// BiLSTM reading a whole document needs no sentinel tokens). docs/tokenizer.md explains the choices.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace docbert::tok {

enum class SentencePieceType { Unigram, Bpe };
const char* sentencepiece_type_name(SentencePieceType t);             // "unigram", "bpe"
SentencePieceType parse_sentencepiece_type(const std::string& name);  // throws docbert::Error naming both

struct SentencePieceTrainOptions {
  SentencePieceType model_type = SentencePieceType::Unigram;
  // Final vocabulary size, the two specials included. SentencePiece fails (an Error quoting it) when the texts
  // cannot support this many pieces.
  int vocab_size = 8000;
  // Fraction of the characters in the texts that get their own piece; the rarest rest map to [UNK].
  // SentencePiece's default; 1.0 suits a small alphabet such as English news.
  double character_coverage = 0.9995;
  // SentencePiece's normaliser rule: "nmt_nfkc_cf" (NFKC, case folding) matches the uncased teacher; "nmt_nfkc"
  // keeps case; "identity" does nothing. Whitespace is always collapsed and stripped.
  std::string normalization = "nmt_nfkc_cf";
  // Trainer threads. The same texts, options and thread count give byte-identical models (checked on R8 for
  // 1, 2, 4 and 8 threads), but models trained with different thread counts differ, unigram and BPE alike: keep 1
  // (the default) wherever a model must be reproducible on another machine. There is no seed: trained from an
  // iterator, SentencePiece 0.1.97 draws no random numbers (its sentence sampler only reads files), so a subsample
  // is the caller's to draw (e.g. with seeded_shuffle).
  int num_threads = 1;
  // Texts longer than this many bytes are skipped by the trainer (its default of 4192 would drop the longer
  // Reuters articles).
  int max_text_bytes = 1 << 16;
};

class SentencePieceModel {
 public:
  static constexpr int32_t kPadId = 0;
  static constexpr int32_t kUnkId = 1;
  static constexpr const char* kPadPiece = "[PAD]";
  static constexpr const char* kUnkPiece = "[UNK]";

  // Trains a model. Throws docbert::Error when no non-empty text is given or the trainer fails (its message quoted).
  //   next:    hands out the training texts one at a time: returns false when there are no more, else fills
  //            `text` with the next one (UTF-8; empty texts are skipped)
  //   options: see SentencePieceTrainOptions
  static SentencePieceModel train(const std::function<bool(std::string& text)>& next,
                                  const SentencePieceTrainOptions& options);
  // Same, from texts held in memory (e.g. the training split's documents).
  static SentencePieceModel train(const std::vector<std::string>& texts, const SentencePieceTrainOptions& options);

  // Reads a .model file. An Error names the file when it is missing, unreadable or not a SentencePiece model, or
  // when its [PAD]/[UNK] ids are not the ones above.
  //   path: a file written by save() or by spm_train with --pad_id=0 --unk_id=1
  static SentencePieceModel load(const std::string& path);
  // Writes the .model file (the bytes of serialized()), replacing `path`; an Error names the file on failure.
  void save(const std::string& path) const;
  // The model as a serialized ModelProto: two models are the same iff these bytes are.
  const std::string& serialized() const { return serialized_; }

  // The ids (encode) or pieces (encode_pieces) of `text` (UTF-8), normalised first; unknown characters give kUnkId.
  std::vector<int32_t> encode(std::string_view text) const;
  std::vector<std::string> encode_pieces(std::string_view text) const;
  // The text of `ids`, each in [0, vocab_size()) (throws otherwise). Inverse of encode up to normalisation:
  // decode(encode(x)) is x normalised by the model's rule, whitespace collapsed and stripped, when every character of
  // x is in the vocabulary; [UNK] decodes to " ⁇ " (U+2047).
  std::string decode(const std::vector<int32_t>& ids) const;

  int32_t vocab_size() const;
  std::string id_to_piece(int32_t id) const;          // throws when out of range
  int32_t piece_to_id(std::string_view piece) const;  // kUnkId for an unknown piece

  SentencePieceModel(SentencePieceModel&&) noexcept;
  SentencePieceModel& operator=(SentencePieceModel&&) noexcept;
  ~SentencePieceModel();

 private:
  // `where` names the source (a file, or "training") in error messages.
  SentencePieceModel(std::string serialized, const std::string& where);
  std::string serialized_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace docbert::tok
