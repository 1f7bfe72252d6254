// The student's word tokenizers and vocabulary: hedwig's clean_string against Python's re on real Reuters texts
// (tests/golden/clean_string.py), the Basic tokenizer's choices, the id order, save/load and its errors, OOV counts.
#include <catch2/catch.hpp>

#include "tests/test_support.h"

#include "tokenizer/word_vocab.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using docbert::tok::hedwig_clean_string;
using docbert::tok::WordTokenizer;
using docbert::tok::WordTokenizerKind;
using docbert::tok::WordVocab;
using docbert::tok::WordVocabOptions;
using Words = std::vector<std::string>;

namespace {

using docbert::test::ScratchDir;

// The texts of DocBERT's Reuters test file, split on '\n' only (each keeps its '\r'), the part after the first tab.
const Words& reuters_test_texts() {
  static const Words texts = [] {
    std::ifstream in(DOCBERT_SOURCE_DIR "/../shared/data/reuters21578/docbert-split/reuters_test.tsv",
                     std::ios::binary);
    REQUIRE(in);
    Words out;
    for (std::string line; std::getline(in, line);) out.push_back(line.substr(line.find('\t') + 1));
    REQUIRE(out.size() == 3019);
    return out;
  }();
  return texts;
}

Words split_spaces(const std::string& joined) {
  std::istringstream in(joined);
  Words out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

TEST_CASE("word vocab: hedwig clean_string equals Python's re on real Reuters texts and hard strings", "[word_vocab]") {
  std::ifstream in(DOCBERT_SOURCE_DIR "/tests/golden/fixtures/clean_string.json");
  REQUIRE(in);
  const nlohmann::json fixture = nlohmann::json::parse(in);
  const Words& texts = reuters_test_texts();
  REQUIRE(fixture["lines"].size() > 300);
  for (const auto& row : fixture["lines"]) {
    const int line = row["line"].get<int>();
    INFO("reuters_test.tsv line " << line);
    REQUIRE(hedwig_clean_string(texts[static_cast<size_t>(line - 1)]) == split_spaces(row["words"]));
  }
  for (const auto& row : fixture["hard"]) {
    const std::string text = row["text"];
    INFO("text '" << text << "'");
    REQUIRE(hedwig_clean_string(text) == split_spaces(row["words"]));
  }
}

TEST_CASE("word vocab: hedwig treats ill-formed UTF-8 bytes as separators", "[word_vocab]") {
  CHECK(hedwig_clean_string("Z\xFCrich \xC3 ok\xE2\x82") == Words{"z", "rich", "ok"});
  CHECK(WordTokenizer(WordTokenizerKind::Hedwig).tokenize("[MASK] Shares, rose.") == Words{"mask", "shares,", "rose"});
}

TEST_CASE("word vocab: the Basic tokenizer is BERT's uncased one and keeps [MASK] whole", "[word_vocab]") {
  const WordTokenizer basic;
  CHECK(basic.kind() == WordTokenizerKind::Basic);
  CHECK(basic.tokenize("U.S. Shares, rose in Z\xC3\xBCrich: [MASK]!") ==
        Words{"u", ".", "s", ".", "shares", ",", "rose", "in", "zurich", ":", "[MASK]", "!"});
  CHECK(basic.tokenize("\xE5\x8C\x97\xE4\xBA\xAC price") == Words{"\xE5\x8C\x97", "\xE4\xBA\xAC", "price"});
  CHECK(docbert::tok::parse_word_tokenizer("hedwig") == WordTokenizerKind::Hedwig);
  CHECK(docbert::tok::word_tokenizer_name(WordTokenizerKind::Basic) == std::string("basic"));
  CHECK_THROWS_WITH(docbert::tok::parse_word_tokenizer("spacy"), Catch::Contains("'basic' or 'hedwig'"));
}

TEST_CASE("word vocab: ids are specials, then frequency descending, ties in byte order", "[word_vocab]") {
  const WordTokenizer hedwig(WordTokenizerKind::Hedwig);
  const Words texts = {"b a c a", "c b a", "Zeta zeta d", "[UNK] [PAD]"};
  // a:3 b:2 c:2 zeta:2 d:1 pad:1 unk:1 (the brackets go, so "[UNK]" is the word "unk", not the special)
  const WordVocab v = WordVocab::build(texts, hedwig);
  CHECK(v.words() == Words{"[PAD]", "[UNK]", "a", "b", "c", "zeta", "d", "pad", "unk"});
  CHECK(v.id("zeta") == 5);
  CHECK(v.id("never") == WordVocab::kUnkId);
  CHECK(v.word(0) == "[PAD]");
  CHECK_THROWS_WITH(v.word(9), Catch::Contains("id 9 is outside [0, 9)"));

  CHECK(WordVocab::build(texts, hedwig, {2, 0}).words() == Words{"[PAD]", "[UNK]", "a", "b", "c", "zeta"});
  CHECK(WordVocab::build(texts, hedwig, {1, 2}).words() == Words{"[PAD]", "[UNK]", "a", "b"});
  CHECK(WordVocab::build({}, hedwig).size() == 2);
  // Specials typed as words are not counted twice: Basic keeps no bracketed special but [MASK] whole.
  CHECK(WordVocab::build({"[MASK] [UNK]"}, WordTokenizer()).words() ==
        Words{"[PAD]", "[UNK]", "[", "[MASK]", "]", "unk"});
  CHECK_THROWS_WITH(WordVocab::build(texts, hedwig, {0, 0}), Catch::Contains("min_freq 0"));
  CHECK_THROWS_WITH(WordVocab::build(texts, hedwig, {1, -1}), Catch::Contains("max_size -1"));
}

TEST_CASE("word vocab: built on real texts, saved, loaded and used to encode with OOV counts", "[word_vocab]") {
  const Words& all = reuters_test_texts();
  const Words train(all.begin(), all.begin() + 2000), held_out(all.begin() + 2000, all.end());
  for (auto kind : {WordTokenizerKind::Basic, WordTokenizerKind::Hedwig}) {
    INFO(docbert::tok::word_tokenizer_name(kind));
    const WordTokenizer tok(kind);
    const WordVocab v = WordVocab::build(train, tok);
    CHECK(v.size() > 10000);
    CHECK(v.id("the") < 6);  // among the most frequent words of news text (with "." and "," when split off)
    const WordVocab again = WordVocab::build(train, tok);
    CHECK(again.words() == v.words());

    const ScratchDir dir;
    const std::string file = dir.file("vocab.txt");
    v.save(file);
    const WordVocab loaded = WordVocab::load(file);
    CHECK(loaded.words() == v.words());

    int64_t train_oov = 0, held_oov = 0, held_words = 0;
    for (const auto& t : train) REQUIRE(v.encode(t, tok, &train_oov).size() == tok.tokenize(t).size());
    CHECK(train_oov == 0);
    for (const auto& t : held_out) {
      const std::vector<int32_t> ids = loaded.encode(t, tok, &held_oov);
      held_words += static_cast<int64_t>(ids.size());
      REQUIRE(
          std::all_of(ids.begin(), ids.end(), [&](int32_t id) { return id >= WordVocab::kUnkId && id < v.size(); }));
    }
    CHECK(held_oov > 0);
    CHECK(held_oov < held_words / 10);  // a news vocabulary covers most of the next thousand articles
  }
  int64_t oov = 5;
  const WordVocab small = WordVocab::build({"a b"}, WordTokenizer(WordTokenizerKind::Hedwig));
  CHECK(small.encode(Words{"a", "x", "b", "y", "[PAD]"}, &oov) == std::vector<int32_t>{2, 1, 3, 1, 0});
  CHECK(oov == 7);
}

TEST_CASE("word vocab: load rejects malformed files with file:line", "[word_vocab]") {
  CHECK_THROWS_WITH(WordVocab::load("/nonexistent/vocab.txt"), Catch::Contains("/nonexistent/vocab.txt"));
  {
    const ScratchDir dir;
    const std::string f = dir.write("vocab.txt", "[PAD]\n[UNK]\nthe\nlast-without-newline");
    CHECK(WordVocab::load(f).words() == Words{"[PAD]", "[UNK]", "the", "last-without-newline"});
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[PAD]\n[UNK]\nthe\nof\nthe\n", ":5: word 'the' repeats line 3"},
      {"[PAD]\n[UNK]\nthe\n\nof\n", ":4: empty line"},
      {"[PAD]\r\n[UNK]\r\n", ":1: word '[PAD]\r' contains whitespace"},
      {"[PAD]\n[UNK]\ntwo words\n", ":3: word 'two words' contains whitespace"},
      {"[UNK]\n[PAD]\n", ":1: expected [PAD], found '[UNK]'"},
      {"[PAD]\nthe\n", ":2: expected [UNK], found 'the'"},
      {"[PAD]\n", "has 1 lines"},
      {"", "has 0 lines"},
  };
  for (const auto& [content, message] : bad) {
    const ScratchDir dir;
    const std::string f = dir.write("vocab.txt", content);
    INFO(content);
    CHECK_THROWS_WITH(WordVocab::load(f), Catch::Contains(f) && Catch::Contains(message));
  }
}
