#include "tokenizer/wordpiece.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"
#include "tokenizer/utf8.h"

namespace docbert::tok {

namespace {

// A multiply-xorshift hash over 8-byte blocks: words are short, so this is a few instructions per lookup.
uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 29);
}

}  // namespace

Truncation parse_truncation(const std::string& name) {
  if (name == "head") return Truncation::Head;
  if (name == "tail") return Truncation::Tail;
  if (name == "head+tail") return Truncation::HeadTail;
  DOCBERT_THROW("unknown truncation '{}' (expected head, tail or head+tail)", name);
}

const char* truncation_name(Truncation t) {
  switch (t) {
    case Truncation::Head:
      return "head";
    case Truncation::Tail:
      return "tail";
    case Truncation::HeadTail:
      return "head+tail";
  }
  return "?";
}

WordPieceOptions read_tokenizer_config(const std::string& path) {
  const nlohmann::json j = parse_json_object(read_file(path, "tokenizer config"), path);
  WordPieceOptions o;
  const auto flag = [&](const char* key, bool& out) {
    if (!j.contains(key)) return;
    DOCBERT_CHECK(j[key].is_boolean(), "{}: '{}' must be true or false, got {}", path, key, j[key].dump());
    out = j[key].get<bool>();
  };
  flag("do_lower_case", o.lower_case);
  flag("tokenize_chinese_chars", o.split_cjk);
  if (j.contains("strip_accents") && !j["strip_accents"].is_null()) {
    DOCBERT_CHECK(j["strip_accents"].is_boolean(), "{}: 'strip_accents' must be true, false or null, got {}", path,
                  j["strip_accents"].dump());
    o.strip_accents = j["strip_accents"].get<bool>();
  }
  const auto token = [&](const char* key, std::string& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    const auto& v = j[key];
    // HF writes either "[UNK]" or a serialised AddedToken {"content": "[UNK]", ...}.
    const nlohmann::json* s = v.is_object() && v.contains("content") ? &v["content"] : &v;
    DOCBERT_CHECK(s->is_string() && !s->get<std::string>().empty(),
                  "{}: '{}' must be a non-empty string or {{\"content\": string}}, got {}", path, key, v.dump());
    out = s->get<std::string>();
  };
  token("unk_token", o.unk_token);
  token("cls_token", o.cls_token);
  token("sep_token", o.sep_token);
  token("pad_token", o.pad_token);
  token("mask_token", o.mask_token);
  return o;
}

void WordPiece::PieceTable::assign(const std::vector<std::pair<std::string_view, int32_t>>& entries) {
  size_t cap = 16;
  while (cap < 2 * entries.size()) cap *= 2;
  slots_.assign(cap, Slot{});
  arena_.clear();
  max_key_bytes_ = 0;
  const size_t mask = cap - 1;
  for (const auto& [key, id] : entries) {
    const uint64_t h = hash_bytes(key);
    size_t i = h & mask;
    while (slots_[i].id >= 0) i = (i + 1) & mask;
    slots_[i] = Slot{static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(arena_.size()),
                     static_cast<uint32_t>(key.size()), id};
    arena_.append(key);
    max_key_bytes_ = std::max(max_key_bytes_, key.size());
  }
}

int32_t WordPiece::PieceTable::find(std::string_view key) const {
  if (slots_.empty()) return -1;  // the mask below would be SIZE_MAX
  const uint64_t h = hash_bytes(key);
  const auto tag = static_cast<uint32_t>(h >> 32);
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id < 0) return -1;
    if (s.tag == tag && s.length == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0) {
      return s.id;
    }
  }
}

WordPiece WordPiece::from_vocab(const std::string& vocab_path, const WordPieceOptions& options) {
  const std::string text = read_file(vocab_path, "vocabulary");
  DOCBERT_CHECK(!text.empty(), "{}: vocabulary is empty", vocab_path);
  std::vector<std::string> tokens;
  std::unordered_map<std::string_view, size_t> line_of;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view tok(text.data() + pos, eol - pos);
    if (!tok.empty() && tok.back() == '\r') tok.remove_suffix(1);
    const size_t line = tokens.size() + 1;
    DOCBERT_CHECK(!tok.empty(), "{}:{}: empty token", vocab_path, line);
    const auto [it, fresh] = line_of.emplace(tok, line);
    DOCBERT_CHECK(fresh, "{}:{}: duplicate token '{}' (first on line {})", vocab_path, line, tok, it->second);
    tokens.emplace_back(tok);
    pos = eol + 1;
  }
  return WordPiece(vocab_path, options, std::move(tokens));
}

WordPiece WordPiece::from_dir(const std::string& dir) {
  const std::string config = dir + "/tokenizer_config.json";
  // symlink_status: a dangling link (a missing blob of an HF cache snapshot) must fail, not fall back to uncased.
  std::error_code ec;
  const bool present = std::filesystem::exists(std::filesystem::symlink_status(config, ec));
  const WordPieceOptions options = present ? read_tokenizer_config(config) : WordPieceOptions{};
  return from_vocab(dir + "/vocab.txt", options);
}

WordPiece::WordPiece(std::string path, const WordPieceOptions& options, std::vector<std::string> tokens)
    : path_(std::move(path)), options_(options), tokens_(std::move(tokens)) {
  DOCBERT_CHECK(options_.max_word_chars > 0, "WordPiece: max_word_chars must be positive, got {}",
                options_.max_word_chars);
  std::vector<std::pair<std::string_view, int32_t>> whole, suffix;
  whole.reserve(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const std::string_view t = tokens_[i];
    whole.emplace_back(t, static_cast<int32_t>(i));
    if (t.size() > 2 && t.compare(0, 2, "##") == 0) suffix.emplace_back(t.substr(2), static_cast<int32_t>(i));
  }
  whole_.assign(whole);
  suffix_.assign(suffix);

  unk_id_ = whole_.find(options_.unk_token);
  DOCBERT_CHECK(unk_id_ >= 0, "{}: vocabulary has no unknown token '{}' (needed for words without pieces)", path_,
                options_.unk_token);
  cls_id_ = whole_.find(options_.cls_token);
  sep_id_ = whole_.find(options_.sep_token);
  pad_id_ = whole_.find(options_.pad_token);
  mask_id_ = whole_.find(options_.mask_token);
  // HF registers the special tokens as added tokens, which are matched in the raw text before normalisation.
  BasicTokenizerOptions basic{options_.lower_case, options_.strip_accents, options_.split_cjk, {}};
  for (const auto* t :
       {&options_.unk_token, &options_.sep_token, &options_.pad_token, &options_.cls_token, &options_.mask_token}) {
    if (contains(*t)) basic.never_split.push_back(*t);
  }
  basic_ = BasicTokenizer(std::move(basic));
}

int32_t WordPiece::special_id(int32_t id, const std::string& token) const {
  DOCBERT_CHECK(id >= 0, "{}: vocabulary has no special token '{}'", path_, token);
  return id;
}

int32_t WordPiece::token_to_id(std::string_view token) const {
  const int32_t id = whole_.find(token);
  return id >= 0 ? id : unk_id_;
}

bool WordPiece::contains(std::string_view token) const { return whole_.find(token) >= 0; }

const std::string& WordPiece::id_to_token(int32_t id) const {
  DOCBERT_CHECK(id >= 0 && id < vocab_size(), "id_to_token: id {} is outside the vocabulary [0, {}) of '{}'", id,
                vocab_size(), path_);
  return tokens_[static_cast<size_t>(id)];
}

void WordPiece::word_to_ids(std::string_view word, std::vector<int32_t>& ids) const {
  const size_t n = word.size();
  const auto max_chars = static_cast<size_t>(options_.max_word_chars);
  if (n > max_chars && count_code_points(word) > max_chars) {
    ids.push_back(unk_id_);
    return;
  }
  const auto inside_char = [&](size_t i) { return i < n && is_continuation_byte(static_cast<unsigned char>(word[i])); };
  const size_t first = ids.size();
  size_t start = 0;
  while (start < n) {
    const PieceTable& table = start == 0 ? whole_ : suffix_;
    // Longest candidate first, but never longer than the longest key: long words cost O(length) lookups.
    size_t end = std::min(n, start + table.max_key_bytes());
    while (inside_char(end)) --end;
    int32_t id = -1;
    while (end > start) {
      id = table.find(word.substr(start, end - start));
      if (id >= 0) break;
      do --end;
      while (inside_char(end));
    }
    if (id < 0) {  // some part matches no piece: the whole word is unknown
      ids.resize(first);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(id);
    start = end;
  }
}

void WordPiece::tokenize_ids(std::string_view text, std::vector<int32_t>& ids) const {
  thread_local Words words;  // reused across calls: no allocation per document once warm
  basic_.split(text, words);
  ids.clear();
  for (size_t i = 0; i < words.size(); ++i) {
    if (words.spans[i].never_split) {
      ids.push_back(whole_.find(words[i]));  // only special tokens present in the vocabulary are never split
    } else {
      word_to_ids(words[i], ids);
    }
  }
}

std::vector<int32_t> WordPiece::tokenize_ids(std::string_view text) const {
  std::vector<int32_t> ids;
  tokenize_ids(text, ids);
  return ids;
}

std::vector<std::string> WordPiece::tokenize(std::string_view text) const {
  std::vector<std::string> out;
  for (int32_t id : tokenize_ids(text)) out.push_back(tokens_[static_cast<size_t>(id)]);
  return out;
}

std::vector<int32_t> WordPiece::encode(std::string_view text, int max_seq_len, Truncation truncation,
                                       int head_pieces) const {
  DOCBERT_CHECK(max_seq_len == 0 || max_seq_len >= 2,
                "encode: max_seq_len must be 0 (no special tokens, no truncation) or at least 2, got {}", max_seq_len);
  std::vector<int32_t> pieces = tokenize_ids(text);
  if (max_seq_len == 0) return pieces;
  const size_t budget = static_cast<size_t>(max_seq_len) - 2;
  if (truncation == Truncation::HeadTail) {
    DOCBERT_CHECK(head_pieces >= 0 && static_cast<size_t>(head_pieces) <= budget,
                  "encode: head_pieces must be in [0, max_seq_len - 2 = {}], got {}", budget, head_pieces);
  }
  std::vector<int32_t> out;
  out.reserve(std::min(pieces.size(), budget) + 2);
  out.push_back(cls_id());
  const auto keep = [&](size_t from, size_t count) {
    out.insert(out.end(), pieces.begin() + static_cast<ptrdiff_t>(from),
               pieces.begin() + static_cast<ptrdiff_t>(from + count));
  };
  if (pieces.size() <= budget) {
    keep(0, pieces.size());
  } else if (truncation == Truncation::Head) {
    keep(0, budget);
  } else if (truncation == Truncation::Tail) {
    keep(pieces.size() - budget, budget);
  } else {
    const auto head = static_cast<size_t>(head_pieces);
    keep(0, head);
    keep(pieces.size() - (budget - head), budget - head);
  }
  out.push_back(sep_id());
  return out;
}

}  // namespace docbert::tok
