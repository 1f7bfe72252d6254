// WordPiece against HF transformers' BertTokenizer (the fast, Rust one), id for id: tests/golden/wordpiece.py
// writes the fixture. Real documents are read from ../shared/data beside the checkout and checked against the
// line hashes in the fixture first, so changed data is reported as such rather than as a tokenizer bug.
#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>

#include "engine/safetensors.h"
#include "tests/test_support.h"
#include "base/file_io.h"
#include "tokenizer/utf8.h"
#include "tokenizer/wordpiece.h"

namespace {

using docbert::SafetensorsFile;
using docbert::tok::WordPiece;

const std::string kFixture = DOCBERT_SOURCE_DIR "/tests/golden/fixtures/wordpiece.safetensors";

// FNV-1a, 64 bits, over bytes or over 32-bit words (ids): the same function as in tests/golden/wordpiece.py.
template <class Seq>
uint64_t fnv1a64(const Seq& values) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (auto v : values)
    h = (h ^ static_cast<uint32_t>(static_cast<std::make_unsigned_t<decltype(v)>>(v))) * 0x100000001B3ull;
  return h;
}

template <class T>
std::vector<T> read_array(const SafetensorsFile& f, const std::string& name) {
  const auto& e = f.entry(name);
  REQUIRE(e.dtype == (sizeof(T) == 4 ? "I32" : "I64"));
  std::vector<T> v(e.nbytes() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), e.data, e.nbytes());
  return v;
}

// Ragged id lists stored as offsets + ids.
std::vector<std::vector<int32_t>> read_ragged(const SafetensorsFile& f, const std::string& prefix) {
  const auto offsets = read_array<int32_t>(f, prefix + ".offsets");
  const auto ids = read_array<int32_t>(f, prefix + ".ids");
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i + 1 < offsets.size(); ++i)
    out.emplace_back(ids.begin() + offsets[i], ids.begin() + offsets[i + 1]);
  return out;
}

// The document text of a raw line; the formats are those of tests/golden/wordpiece.py's doc_text.
std::string doc_text(const std::string& format, std::string line) {
  if (format == "reuters") {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line.substr(line.find('\t') + 1);
  }
  if (format == "r8") return line.substr(line.find(' ') + 1);
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) pos = line.find("\t\t", pos) + 2;
  return line.substr(pos);
}

std::string hex_decode(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string show_bytes(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 160))
    out += c >= 0x20 && c < 0x7F ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  return s.size() > 160 ? out + "..." : out;
}

// "first difference at piece k" with a few tokens of context from both sides.
std::string token_diff(const WordPiece& wp, const std::vector<int32_t>& ours, const std::vector<int32_t>& hf) {
  size_t k = 0;
  while (k < ours.size() && k < hf.size() && ours[k] == hf[k]) ++k;
  const auto show = [&](const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = k >= 5 ? k - 5 : 0; i < std::min(ids.size(), k + 6); ++i) {
      s += fmt::format("{}{}({}) ", i == k ? ">>" : "", wp.id_to_token(ids[i]), ids[i]);
    }
    return s;
  };
  return fmt::format("{} pieces (docbert) vs {} (HF); first difference at piece {}\n  docbert: {}\n  HF:      {}",
                     ours.size(), hf.size(), k, show(ours), show(hf));
}

struct Doc {
  std::string where;  // file:line
  std::string text;
};

struct Golden {
  SafetensorsFile file;
  nlohmann::json meta_sources, meta_hard, slow_fast;
  std::vector<Doc> docs;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden out{SafetensorsFile::open(kFixture), {}, {}, {}, {}};
    const auto& meta = out.file.metadata();
    out.meta_sources = nlohmann::json::parse(meta.at("sources"));
    out.meta_hard = nlohmann::json::parse(meta.at("hard"));
    out.slow_fast = nlohmann::json::parse(meta.at("slow_fast"));

    const std::string vocab = docbert::read_file(docbert::test::shared_data(meta.at("vocab")), "vocabulary");
    REQUIRE(fmt::format("{:016x}", fnv1a64(vocab)) == meta.at("vocab_fnv1a64"));
    const auto source = read_array<int32_t>(out.file, "doc.source");
    const auto line = read_array<int32_t>(out.file, "doc.line");
    const auto hash = read_array<int64_t>(out.file, "doc.hash");
    std::vector<std::vector<std::string>> lines(out.meta_sources.size());
    for (size_t s = 0; s < lines.size(); ++s) {
      lines[s] = docbert::test::file_lines(docbert::test::shared_data(out.meta_sources[s]["file"].get<std::string>()));
    }
    for (size_t i = 0; i < source.size(); ++i) {
      const auto& src = out.meta_sources[static_cast<size_t>(source[i])];
      const std::string where = fmt::format("{}:{}", src["file"].get<std::string>(), line[i]);
      const auto& ls = lines[static_cast<size_t>(source[i])];
      if (static_cast<size_t>(line[i]) > ls.size())
        FAIL(where << ": the file has only " << ls.size() << " lines (data changed?)");
      const std::string& raw = ls[static_cast<size_t>(line[i]) - 1];
      if (fnv1a64(raw) != static_cast<uint64_t>(hash[i])) {
        FAIL(where << ": the line differs from the one the fixture was made from (../shared/data changed; "
                      "regenerate with tests/golden/wordpiece.py if the change is intended)");
      }
      out.docs.push_back({where, doc_text(src["format"].get<std::string>(), raw)});
    }
    return out;
  }();
  return g;
}

WordPiece make(bool lower_case) {
  docbert::tok::WordPieceOptions o;
  o.lower_case = lower_case;
  return WordPiece::from_vocab(docbert::test::shared_data("vocab/bert-base-uncased/vocab.txt"), o);
}

}  // namespace

TEST_CASE("golden: WordPiece ids equal HF BertTokenizerFast on real documents", "[tokenizer][golden]") {
  const Golden& g = golden();
  REQUIRE(g.docs.size() >= 1000);
  for (const char* cfg : {"uncased", "cased"}) {
    const WordPiece wp = make(std::string(cfg) == "uncased");
    const auto digest = read_array<int64_t>(g.file, fmt::format("{}.doc.digest", cfg));
    const auto full = read_array<int32_t>(g.file, fmt::format("{}.doc.full", cfg));
    const auto full_ids = read_ragged(g.file, fmt::format("{}.doc", cfg));
    REQUIRE(digest.size() == g.docs.size());
    std::vector<int> full_pos(g.docs.size(), -1);
    for (size_t k = 0; k < full.size(); ++k) full_pos[static_cast<size_t>(full[k])] = static_cast<int>(k);
    size_t pieces = 0;
    for (size_t i = 0; i < g.docs.size(); ++i) {
      const auto ids = wp.tokenize_ids(g.docs[i].text);
      pieces += ids.size();
      if (full_pos[i] >= 0) {
        const auto& hf = full_ids[static_cast<size_t>(full_pos[i])];
        if (ids != hf) FAIL(cfg << " " << g.docs[i].where << ": " << token_diff(wp, ids, hf));
      }
      if (fnv1a64(ids) != static_cast<uint64_t>(digest[i])) {
        FAIL(cfg << " " << g.docs[i].where << ": ids differ from HF (the fixture keeps only a digest of this "
                 << "document; docbert's first pieces: " << token_diff(wp, ids, {}) << ")");
      }
    }
    INFO(cfg << ": " << g.docs.size() << " documents, " << pieces << " pieces, " << full.size() << " compared in full");
    CHECK(pieces > 0);
  }
}

TEST_CASE("golden: encode(512, head/tail) equals HF truncation=True, max_length=512", "[tokenizer][golden]") {
  const Golden& g = golden();
  const WordPiece wp = make(true);
  const auto head = read_array<int64_t>(g.file, "uncased.head512.digest");
  const auto tail = read_array<int64_t>(g.file, "uncased.tail512.digest");
  size_t truncated = 0;
  for (size_t i = 0; i < g.docs.size(); ++i) {
    const auto h = wp.encode(g.docs[i].text, 512, docbert::tok::Truncation::Head);
    const auto t = wp.encode(g.docs[i].text, 512, docbert::tok::Truncation::Tail);
    truncated += h.size() == 512;
    if (fnv1a64(h) != static_cast<uint64_t>(head[i])) FAIL(g.docs[i].where << ": head-truncated ids differ from HF");
    if (fnv1a64(t) != static_cast<uint64_t>(tail[i])) FAIL(g.docs[i].where << ": tail-truncated ids differ from HF");
  }
  CHECK(truncated > 100);  // the Reuters test and validation sets have 266 documents over 510 pieces
}

TEST_CASE("golden: WordPiece ids equal HF on hard strings", "[tokenizer][golden]") {
  const Golden& g = golden();
  REQUIRE(g.meta_hard.size() >= 40);
  for (const char* cfg : {"uncased", "cased"}) {
    const WordPiece wp = make(std::string(cfg) == "uncased");
    const auto expected = read_ragged(g.file, fmt::format("{}.hard", cfg));
    REQUIRE(expected.size() == g.meta_hard.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string text = hex_decode(g.meta_hard[i].get<std::string>());
      const auto ids = wp.tokenize_ids(text);
      if (ids != expected[i])
        FAIL(cfg << " hard string " << i << " \"" << show_bytes(text) << "\": " << token_diff(wp, ids, expected[i]));
    }
  }
}

TEST_CASE("golden: WordPiece ids equal HF for every code point", "[tokenizer][golden]") {
  const Golden& g = golden();
  for (const char* cfg : {"uncased", "cased"}) {
    const WordPiece wp = make(std::string(cfg) == "uncased");
    const auto first = read_array<int32_t>(g.file, fmt::format("{}.cp.first", cfg));
    const auto runs = read_ragged(g.file, fmt::format("{}.cp", cfg));
    REQUIRE(first.size() == runs.size());
    std::vector<std::string> bad;
    std::vector<int32_t> ids;
    std::string text;
    size_t run = 0;
    for (char32_t cp = 0; cp < 0x110000; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      while (run + 1 < first.size() && static_cast<char32_t>(first[run + 1]) <= cp) ++run;
      text = "a";  // the text tests/golden/wordpiece.py tokenizes: "a{c}b {c}"
      docbert::tok::append_utf8(text, cp);
      text += "b ";
      docbert::tok::append_utf8(text, cp);
      wp.tokenize_ids(text, ids);
      if (ids != runs[run] && bad.size() < 20)
        bad.push_back(fmt::format("U+{:04X}: {}", static_cast<uint32_t>(cp), token_diff(wp, ids, runs[run])));
    }
    if (!bad.empty())
      FAIL(cfg << ": code points where docbert differs from HF (first 20):\n"
               << fmt::format("{}", fmt::join(bad, "\n")));
  }
}
