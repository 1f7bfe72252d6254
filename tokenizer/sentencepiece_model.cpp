#include "tokenizer/sentencepiece_model.h"

#include "base/error.h"
#include "base/file_io.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <unordered_map>
#include <utility>

namespace docbert::tok {

const char* sentencepiece_type_name(SentencePieceType t) { return t == SentencePieceType::Unigram ? "unigram" : "bpe"; }

SentencePieceType parse_sentencepiece_type(const std::string& name) {
  if (name == "unigram") return SentencePieceType::Unigram;
  if (name == "bpe") return SentencePieceType::Bpe;
  DOCBERT_THROW("unknown SentencePiece model type '{}' (expected 'unigram' or 'bpe')", name);
}

namespace {

// Feeds the caller's texts to the trainer one at a time, skipping empty ones.
class CallbackIterator : public sentencepiece::SentenceIterator {
 public:
  explicit CallbackIterator(const std::function<bool(std::string&)>& next) : next_(next) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    do {
      done_ = !next_(value_);
    } while (!done_ && value_.empty());
    if (!done_) ++count_;
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }
  int64_t count() const { return count_; }

 private:
  const std::function<bool(std::string&)>& next_;
  std::string value_;
  bool done_ = false;
  int64_t count_ = 0;
};

}  // namespace

SentencePieceModel SentencePieceModel::train(const std::function<bool(std::string& text)>& next,
                                             const SentencePieceTrainOptions& options) {
  DOCBERT_CHECK(options.vocab_size > 2, "sentencepiece training: vocab_size {} must exceed the 2 specials",
                options.vocab_size);
  DOCBERT_CHECK(options.character_coverage > 0 && options.character_coverage <= 1,
                "sentencepiece training: character_coverage {} is outside (0, 1]", options.character_coverage);
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", sentencepiece_type_name(options.model_type)},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", fmt::format("{}", options.character_coverage)},
      {"normalization_rule_name", options.normalization},
      {"num_threads", std::to_string(options.num_threads)},
      {"max_sentence_length", std::to_string(options.max_text_bytes)},
      {"pad_id", std::to_string(kPadId)},
      {"unk_id", std::to_string(kUnkId)},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_piece", kPadPiece},
      {"unk_piece", kUnkPiece},
      {"minloglevel", "2"},  // errors come back as a Status; the progress log would flood the test output
  };
  CallbackIterator it(next);
  DOCBERT_CHECK(!it.done(), "sentencepiece training: no non-empty training text");
  std::string serialized;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &serialized);
  DOCBERT_CHECK(status.ok(), "sentencepiece training ({}, vocab_size {}, {} texts) failed: {}",
                sentencepiece_type_name(options.model_type), options.vocab_size, it.count(), status.ToString());
  return SentencePieceModel(std::move(serialized), "training");
}

SentencePieceModel SentencePieceModel::train(const std::vector<std::string>& texts,
                                             const SentencePieceTrainOptions& options) {
  size_t i = 0;
  return train(
      [&](std::string& text) {
        if (i == texts.size()) return false;
        text = texts[i++];
        return true;
      },
      options);
}

SentencePieceModel::SentencePieceModel(std::string serialized, const std::string& where)
    : serialized_(std::move(serialized)), processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = processor_->LoadFromSerializedProto(serialized_);
  DOCBERT_CHECK(status.ok(), "{}: not a SentencePiece model: {}", where, status.ToString());
  DOCBERT_CHECK(processor_->pad_id() == kPadId && processor_->unk_id() == kUnkId,
                "{}: SentencePiece model has pad id {} and unk id {}; docbert's student expects {} and {}", where,
                processor_->pad_id(), processor_->unk_id(), kPadId, kUnkId);
}

SentencePieceModel SentencePieceModel::load(const std::string& path) {
  return SentencePieceModel(read_file(path, "SentencePiece model"), path);
}

void SentencePieceModel::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  DOCBERT_CHECK(out, "cannot create SentencePiece model file '{}'", path);
  out.write(serialized_.data(), static_cast<std::streamsize>(serialized_.size()));
  out.close();
  DOCBERT_CHECK(out, "cannot write SentencePiece model file '{}'", path);
}

std::vector<int32_t> SentencePieceModel::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = processor_->Encode(text, &ids);
  DOCBERT_CHECK(status.ok(), "sentencepiece encode failed: {}", status.ToString());
  return {ids.begin(), ids.end()};
}

std::vector<std::string> SentencePieceModel::encode_pieces(std::string_view text) const {
  std::vector<std::string> pieces;
  const auto status = processor_->Encode(text, &pieces);
  DOCBERT_CHECK(status.ok(), "sentencepiece encode failed: {}", status.ToString());
  return pieces;
}

std::string SentencePieceModel::decode(const std::vector<int32_t>& ids) const {
  const int32_t n = vocab_size();
  for (size_t i = 0; i < ids.size(); ++i)
    DOCBERT_CHECK(ids[i] >= 0 && ids[i] < n, "sentencepiece decode: ids[{}] = {} is outside [0, {})", i, ids[i], n);
  std::string text;
  const auto status = processor_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  DOCBERT_CHECK(status.ok(), "sentencepiece decode failed: {}", status.ToString());
  return text;
}

int32_t SentencePieceModel::vocab_size() const { return processor_->GetPieceSize(); }

std::string SentencePieceModel::id_to_piece(int32_t id) const {
  DOCBERT_CHECK(id >= 0 && id < vocab_size(), "sentencepiece: id {} is outside [0, {})", id, vocab_size());
  return processor_->IdToPiece(id);
}

int32_t SentencePieceModel::piece_to_id(std::string_view piece) const { return processor_->PieceToId(piece); }

SentencePieceModel::SentencePieceModel(SentencePieceModel&&) noexcept = default;
SentencePieceModel& SentencePieceModel::operator=(SentencePieceModel&&) noexcept = default;
SentencePieceModel::~SentencePieceModel() = default;

}  // namespace docbert::tok
