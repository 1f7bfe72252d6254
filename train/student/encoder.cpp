#include "train/student/encoder.h"

#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"
#include "engine/parallel.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <functional>

namespace docbert::train {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr StudentTokenizerKind kKinds[] = {StudentTokenizerKind::Word, StudentTokenizerKind::WordHedwig,
                                           StudentTokenizerKind::WordPiece, StudentTokenizerKind::SentencePiece};

void check_max_tokens(int64_t max_tokens, const std::string& source) {
  DOCBERT_CHECK(max_tokens >= 0, "{}: max_tokens must be >= 0 (0: whole documents), got {}", source, max_tokens);
}

// A vocabulary file's text: one token per line, line n holding id n - 1 (the format WordVocab and WordPiece read).
std::string vocab_text(int64_t size, const std::function<const std::string&(int32_t)>& token) {
  std::string text;
  for (int32_t id = 0; id < size; ++id) (text += token(id)) += '\n';
  return text;
}

}  // namespace

const char* student_tokenizer_name(StudentTokenizerKind kind) {
  switch (kind) {
    case StudentTokenizerKind::Word:
      return "word";
    case StudentTokenizerKind::WordHedwig:
      return "word-hedwig";
    case StudentTokenizerKind::WordPiece:
      return "wordpiece";
    case StudentTokenizerKind::SentencePiece:
      return "sentencepiece";
  }
  return "?";
}

StudentTokenizerKind parse_student_tokenizer(const std::string& name, const std::string& source) {
  for (StudentTokenizerKind k : kKinds)
    if (name == student_tokenizer_name(k)) return k;
  DOCBERT_THROW("{}: unknown student tokenizer '{}' (expected word, word-hedwig, wordpiece or sentencepiece)", source,
                name);
}

StudentEncoder::StudentEncoder(StudentTokenizerKind kind, int64_t max_tokens) : kind_(kind), max_tokens_(max_tokens) {
  check_max_tokens(max_tokens, "StudentEncoder");
}

StudentEncoder StudentEncoder::build_words(const std::vector<std::string>& texts, tok::WordTokenizerKind kind,
                                           const tok::WordVocabOptions& options, int64_t max_tokens) {
  StudentEncoder e(
      kind == tok::WordTokenizerKind::Basic ? StudentTokenizerKind::Word : StudentTokenizerKind::WordHedwig,
      max_tokens);
  e.word_tokenizer_ = std::make_shared<const tok::WordTokenizer>(kind);
  e.words_ = std::make_shared<const tok::WordVocab>(tok::WordVocab::build(texts, *e.word_tokenizer_, options));
  return e;
}

StudentEncoder StudentEncoder::from_wordpiece(const std::string& vocab_txt, int64_t max_tokens) {
  StudentEncoder e(StudentTokenizerKind::WordPiece, max_tokens);
  e.wordpiece_ = std::make_shared<const tok::WordPiece>(tok::WordPiece::from_vocab(vocab_txt));
  return e;
}

StudentEncoder StudentEncoder::from_sentencepiece(const std::string& model_path, int64_t max_tokens) {
  StudentEncoder e(StudentTokenizerKind::SentencePiece, max_tokens);
  e.sentencepiece_ = std::make_shared<const tok::SentencePieceModel>(tok::SentencePieceModel::load(model_path));
  return e;
}

StudentEncoder StudentEncoder::load(const std::string& dir) {
  const std::string path = (fs::path(dir) / kConfigFile).string();
  const json j = parse_json_object(read_file(path, "student tokenizer config"), path);
  for (const auto& item : j.items())
    DOCBERT_CHECK(item.key() == "kind" || item.key() == "max_tokens",
                  "{}: unknown key '{}' (a student tokenizer config has kind, max_tokens)", path, item.key());
  DOCBERT_CHECK(j.contains("kind") && j["kind"].is_string(), "{}: 'kind' is missing or not a string", path);
  DOCBERT_CHECK(j.contains("max_tokens") && j["max_tokens"].is_number_integer(),
                "{}: 'max_tokens' is missing or not an integer", path);
  const StudentTokenizerKind kind = parse_student_tokenizer(j["kind"].get<std::string>(), path);
  const auto max_tokens = j["max_tokens"].get<int64_t>();
  check_max_tokens(max_tokens, path);
  const std::string vocab = (fs::path(dir) / kVocabFile).string();
  switch (kind) {
    case StudentTokenizerKind::Word:
    case StudentTokenizerKind::WordHedwig: {
      StudentEncoder e(kind, max_tokens);
      e.word_tokenizer_ = std::make_shared<const tok::WordTokenizer>(
          kind == StudentTokenizerKind::Word ? tok::WordTokenizerKind::Basic : tok::WordTokenizerKind::Hedwig);
      e.words_ = std::make_shared<const tok::WordVocab>(tok::WordVocab::load(vocab));
      return e;
    }
    case StudentTokenizerKind::WordPiece:
      return from_wordpiece(vocab, max_tokens);
    case StudentTokenizerKind::SentencePiece:
      return from_sentencepiece((fs::path(dir) / kSentencePieceFile).string(), max_tokens);
  }
  DOCBERT_THROW("{}: unhandled student tokenizer kind", path);
}

void StudentEncoder::save(const std::string& dir) const {
  fs::create_directories(dir);
  const fs::path d(dir);
  // The vocabulary first: a folder whose student_tokenizer.json exists has its vocabulary.
  if (words_) {
    write_file_atomic((d / kVocabFile).string(),
                      vocab_text(words_->size(), [&](int32_t id) -> const std::string& { return words_->word(id); }),
                      "word vocabulary");
  } else if (wordpiece_) {
    write_file_atomic((d / kVocabFile).string(),
                      vocab_text(wordpiece_->vocab_size(),
                                 [&](int32_t id) -> const std::string& { return wordpiece_->id_to_token(id); }),
                      "WordPiece vocabulary");
  } else {
    write_file_atomic((d / kSentencePieceFile).string(), sentencepiece_->serialized(), "SentencePiece model");
  }
  const json j = {{"kind", kind_name()}, {"max_tokens", max_tokens_}};
  write_file_atomic((d / kConfigFile).string(), j.dump(2) + "\n", "student tokenizer config");
}

void StudentEncoder::set_max_tokens(int64_t max_tokens) {
  check_max_tokens(max_tokens, "StudentEncoder::set_max_tokens");
  max_tokens_ = max_tokens;
}

int64_t StudentEncoder::vocab_size() const {
  if (words_) return words_->size();
  if (wordpiece_) return wordpiece_->vocab_size();
  return sentencepiece_->vocab_size();
}

int32_t StudentEncoder::pad_id() const {
  if (words_) return tok::WordVocab::kPadId;
  if (wordpiece_) return wordpiece_->contains(wordpiece_->options().pad_token) ? wordpiece_->pad_id() : -1;
  return tok::SentencePieceModel::kPadId;
}

int32_t StudentEncoder::unk_id() const {
  if (words_) return tok::WordVocab::kUnkId;
  if (wordpiece_) return wordpiece_->unk_id();
  return tok::SentencePieceModel::kUnkId;
}

std::vector<int32_t> StudentEncoder::encode(std::string_view text, int64_t* oov) const {
  const auto limit = [&](size_t n) { return max_tokens_ > 0 ? std::min(n, static_cast<size_t>(max_tokens_)) : n; };
  std::vector<int32_t> ids;
  if (words_) {
    std::vector<std::string> words = word_tokenizer_->tokenize(text);
    words.resize(limit(words.size()));  // before the lookups: a long document's tail costs no hashing
    ids = words_->encode(words);
  } else {
    ids = wordpiece_ ? wordpiece_->tokenize_ids(text) : sentencepiece_->encode(text);
    ids.resize(limit(ids.size()));
  }
  if (ids.empty()) return {unk_id()};
  if (oov) *oov += std::count(ids.begin(), ids.end(), unk_id());
  return ids;
}

std::vector<std::vector<int32_t>> StudentEncoder::encode_all(const std::vector<std::string>& texts,
                                                             int64_t* oov) const {
  const auto n = static_cast<int64_t>(texts.size());
  std::vector<std::vector<int32_t>> ids(texts.size());
  std::vector<int64_t> unknown(texts.size(), 0);
  // Every tokenizer here is safe to share between threads and every document writes its own slots, so the result
  // does not depend on the thread count. An exception cannot leave the OpenMP region: the first is rethrown after it.
  std::vector<std::exception_ptr> errors(texts.size());
  parallel_for(
      n,
      [&](int64_t i) {
        const auto k = static_cast<size_t>(i);
        try {
          ids[k] = encode(texts[k], &unknown[k]);
        } catch (...) {
          errors[k] = std::current_exception();
        }
      },
      /*grain=*/2);
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  if (oov)
    for (int64_t u : unknown) *oov += u;
  return ids;
}

}  // namespace docbert::train
