// WordPiece, BasicTokenizer and UTF-8 decoding on small hand-checked cases: the decoding rule for ill-formed
// bytes, normalisation options, the 100-code-point limit, truncation modes, and every way a vocabulary or
// tokenizer_config.json can be broken. wordpiece_golden.cpp compares against HF on real text.
#include <catch2/catch.hpp>

#include "tests/test_support.h"

#include <filesystem>
#include <fstream>
#include <functional>

#include "base/error.h"
#include "tokenizer/basic_tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/wordpiece.h"

namespace {

using docbert::test::ScratchDir;

using namespace docbert::tok;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

const std::string kVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\na\n##a\nb\n##b\nc\n,\n!\nhello\n";

std::u32string decode_all(std::string_view bytes) {
  std::u32string out;
  for (size_t pos = 0; pos < bytes.size();) out.push_back(decode_utf8(bytes, pos));
  return out;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const docbert::Error& e) {
    return e.message();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("utf8: ill-formed bytes decode like Python's bytes.decode('utf-8', 'replace')", "[tokenizer][utf8]") {
  const char32_t R = kReplacementChar;
  CHECK(decode_all("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == std::u32string{'a', 0xE9, 0x20AC, 0x1F600});
  // One U+FFFD per maximal subpart: a truncated sequence is one, and the byte that broke it starts again.
  CHECK(decode_all("\xE2\x82\xE2\x82\xAC") == std::u32string{R, 0x20AC});
  CHECK(decode_all("\xF0\x9F\x98") == std::u32string{R});
  CHECK(decode_all("\xE1\x80\x41") == std::u32string{R, 'A'});
  // Bytes that can never start or continue here are one U+FFFD each: overlongs, surrogates, > U+10FFFF.
  CHECK(decode_all("\xC0\xAF") == std::u32string{R, R});
  CHECK(decode_all("\xE0\x80\xAF") == std::u32string{R, R, R});
  CHECK(decode_all("\xED\xA0\x80") == std::u32string{R, R, R});
  CHECK(decode_all("\xF4\x90\x80\x80") == std::u32string{R, R, R, R});
  CHECK(decode_all("\x80\xFF\xFE") == std::u32string{R, R, R});
  CHECK(decode_all("\xF4\x8F\xBF\xBF") == std::u32string{0x10FFFF});

  std::string s;
  for (char32_t cp : {U'a', U'\u00E9', U'\u20AC', U'\U0001F600', U'\U0010FFFF'}) append_utf8(s, cp);
  CHECK(decode_all(s) == std::u32string{'a', 0xE9, 0x20AC, 0x1F600, 0x10FFFF});
  CHECK(count_code_points(s) == 5);
}

TEST_CASE("BasicTokenizer: cleaning, case, accents, CJK, punctuation and never-split tokens", "[tokenizer]") {
  const BasicTokenizer uncased;
  CHECK(uncased.tokenize("Hello, World!") == Strings{"hello", ",", "world", "!"});
  CHECK(uncased.tokenize("  Naïve\tCAFÉ\r\n") == Strings{"naive", "cafe"});
  CHECK(uncased.tokenize("a\x03"
                         "b\xC2\xA0"
                         "c\xEF\xBF\xBD"
                         "d\xE2\x80\x8B"
                         "e") == Strings{"ab", "cde"});
  CHECK(uncased.tokenize("\xE4\xB8\xAD\xE6\x96\x87x") == Strings{"\xE4\xB8\xAD", "\xE6\x96\x87", "x"});
  CHECK(uncased.tokenize("\xC4\xB0stanbul") == Strings{"istanbul"});  // İ: NFD, strip the dot, lower-case
  CHECK(uncased.tokenize("bad\xFF"
                         "bytes") == Strings{"badbytes"});  // U+FFFD is dropped by the cleaner
  CHECK(uncased.tokenize("").empty());
  CHECK(uncased.tokenize(" \t\n ").empty());

  const BasicTokenizer cased(BasicTokenizerOptions{false, std::nullopt, true, {}});
  CHECK(cased.tokenize("Naïve CAFÉ") == Strings{"Naïve", "CAFÉ"});
  const BasicTokenizer keep_accents(BasicTokenizerOptions{true, false, true, {}});
  CHECK(keep_accents.tokenize("Naïve \xC4\xB0") == Strings{"naïve", "i\xCC\x87"});  // full lower case of İ
  const BasicTokenizer strip_only(BasicTokenizerOptions{false, true, true, {}});
  CHECK(strip_only.tokenize("Naïve") == Strings{"Naive"});
  const BasicTokenizer no_cjk(BasicTokenizerOptions{true, std::nullopt, false, {}});
  CHECK(no_cjk.tokenize("\xE4\xB8\xAD\xE6\x96\x87x") == Strings{"\xE4\xB8\xAD\xE6\x96\x87x"});

  const BasicTokenizer special(BasicTokenizerOptions{true, std::nullopt, true, {"[MASK]", "[SEP]"}});
  CHECK(special.tokenize("A[MASK]b [mask] [SEP]") == Strings{"a", "[MASK]", "b", "[", "mask", "]", "[SEP]"});
  Words words;
  special.split("x [MASK]", words);
  REQUIRE(words.size() == 2);
  CHECK_FALSE(words.spans[0].never_split);
  CHECK(words.spans[1].never_split);
  CHECK_THROWS_AS(BasicTokenizer(BasicTokenizerOptions{true, std::nullopt, true, {""}}), docbert::Error);
}

TEST_CASE("WordPiece: greedy longest match, ## continuations and the 100-code-point limit", "[tokenizer]") {
  ScratchDir dir;
  const WordPiece wp = WordPiece::from_vocab(dir.write("vocab.txt", kVocab));
  CHECK(wp.vocab_size() == 16);
  CHECK(wp.tokenize("Unaffable, hello!") == Strings{"un", "##aff", "##able", ",", "hello", "!"});
  CHECK(wp.tokenize("unaffablex c") == Strings{"[UNK]", "c"});  // an unmatched tail makes the whole word [UNK]
  CHECK(wp.tokenize("[MASK]hello") == Strings{"[MASK]", "hello"});
  Strings hundred(100, "##a");
  hundred[0] = "a";
  CHECK(wp.tokenize(std::string(100, 'a')) == hundred);
  CHECK(wp.tokenize(std::string(101, 'a')) == Strings{"[UNK]"});
  // The limit counts code points after normalisation: 60 x "á" is 120 bytes but 60 characters.
  std::string accented;
  for (int i = 0; i < 60; ++i) accented += "\xC3\xA1";
  CHECK(wp.tokenize(accented).size() == 60);
  CHECK(wp.token_to_id("hello") == 15);
  CHECK(wp.token_to_id("nope") == wp.unk_id());
  CHECK(wp.id_to_token(6) == "##aff");
  CHECK_THROWS_AS(wp.id_to_token(16), docbert::Error);
  CHECK(wp.cls_id() == 2);
  CHECK(wp.sep_id() == 3);
  CHECK(wp.pad_id() == 0);
  CHECK(wp.mask_id() == 4);
}

TEST_CASE("WordPiece::encode: special tokens and head, tail and head+tail truncation", "[tokenizer]") {
  ScratchDir dir;
  const WordPiece wp = WordPiece::from_vocab(dir.write("vocab.txt", kVocab));
  const std::string text = "a b c hello , !";  // ids 8 10 12 15 13 14
  using T = Truncation;
  CHECK(wp.encode(text, 0, T::Head) == std::vector<int32_t>{8, 10, 12, 15, 13, 14});
  CHECK(wp.encode(text, 8, T::Head) == std::vector<int32_t>{2, 8, 10, 12, 15, 13, 14, 3});
  CHECK(wp.encode(text, 512, T::Tail) == std::vector<int32_t>{2, 8, 10, 12, 15, 13, 14, 3});
  CHECK(wp.encode(text, 6, T::Head) == std::vector<int32_t>{2, 8, 10, 12, 15, 3});
  CHECK(wp.encode(text, 6, T::Tail) == std::vector<int32_t>{2, 12, 15, 13, 14, 3});
  CHECK(wp.encode(text, 6, T::HeadTail, 1) == std::vector<int32_t>{2, 8, 15, 13, 14, 3});
  CHECK(wp.encode(text, 6, T::HeadTail, 4) == std::vector<int32_t>{2, 8, 10, 12, 15, 3});
  CHECK(wp.encode(text, 6, T::HeadTail, 0) == wp.encode(text, 6, T::Tail));
  CHECK(wp.encode(text, 2, T::Head) == std::vector<int32_t>{2, 3});
  CHECK(wp.encode("", 512, T::Head) == std::vector<int32_t>{2, 3});
  CHECK_THROWS_WITH(wp.encode(text, 1, T::Head), Catch::Contains("max_seq_len must be 0"));
  CHECK_THROWS_WITH(wp.encode(text, 6, T::HeadTail, 5),
                    Catch::Contains("head_pieces must be in [0, max_seq_len - 2 = 4]"));

  CHECK(parse_truncation("head") == T::Head);
  CHECK(parse_truncation("tail") == T::Tail);
  CHECK(parse_truncation("head+tail") == T::HeadTail);
  CHECK(std::string(truncation_name(T::HeadTail)) == "head+tail");
  CHECK_THROWS_WITH(parse_truncation("middle"), Catch::Contains("expected head, tail or head+tail"));
}

TEST_CASE("WordPiece: broken vocabularies and configs name the file and the problem", "[tokenizer]") {
  ScratchDir dir;
  const std::string missing = dir.file("missing.txt");
  CHECK(message_of([&] { WordPiece::from_vocab(missing); }) == missing + ": vocabulary not found");
  CHECK(message_of([&] { WordPiece::from_vocab(dir.path().string()); }) ==
        dir.path().string() + ": vocabulary is not a regular file");
  const std::string empty = dir.write("empty.txt", "");
  CHECK(message_of([&] { WordPiece::from_vocab(empty); }) == empty + ": vocabulary is empty");
  const std::string dup = dir.write("dup.txt", "[UNK]\na\nb\na\n");
  CHECK(message_of([&] { WordPiece::from_vocab(dup); }) == dup + ":4: duplicate token 'a' (first on line 2)");
  const std::string gap = dir.write("gap.txt", "[UNK]\n\nb\n");
  CHECK(message_of([&] { WordPiece::from_vocab(gap); }) == gap + ":2: empty token");
  CHECK_THAT(message_of([&] { WordPiece::from_vocab(dir.write("nounk.txt", "a\nb\n")); }),
             Catch::Contains("nounk.txt: vocabulary has no unknown token '[UNK]'"));
  const WordPiece no_cls = WordPiece::from_vocab(dir.write("nocls.txt", "[UNK]\r\na\r\n"));  // CRLF is fine
  CHECK(no_cls.tokenize("a") == Strings{"a"});
  CHECK(no_cls.encode("a", 0) == std::vector<int32_t>{1});
  CHECK_THAT(message_of([&] { no_cls.encode("a", 512); }),
             Catch::Contains("nocls.txt: vocabulary has no special token '[CLS]'"));

  CHECK_THAT(message_of([&] { read_tokenizer_config(dir.write("bad.json", "{\"do_lower_case\": tru")); }),
             Catch::Contains("bad.json: malformed JSON"));
  CHECK_THAT(message_of([&] { read_tokenizer_config(dir.write("arr.json", "[1]")); }),
             Catch::Contains("arr.json: expected a JSON object"));
  CHECK_THAT(message_of([&] { read_tokenizer_config(dir.write("t.json", "{\"do_lower_case\": \"yes\"}")); }),
             Catch::Contains("t.json: 'do_lower_case' must be true or false"));
  CHECK_THAT(message_of([&] { read_tokenizer_config(dir.write("s.json", "{\"strip_accents\": 1}")); }),
             Catch::Contains("'strip_accents' must be true, false or null"));
  CHECK_THAT(message_of([&] { read_tokenizer_config(dir.write("u.json", "{\"unk_token\": 3}")); }),
             Catch::Contains("'unk_token' must be a non-empty string"));
}

TEST_CASE("WordPiece::from_dir reads tokenizer_config.json like HF", "[tokenizer]") {
  ScratchDir dir;
  dir.write("vocab.txt", kVocab + "Hello\n<unk>\n");
  CHECK(WordPiece::from_dir(dir.path().string()).tokenize("Hello") == Strings{"hello"});  // no config: uncased
  dir.write("tokenizer_config.json",
            R"({"do_lower_case": false, "strip_accents": null, "tokenize_chinese_chars": true,
                "unk_token": {"content": "<unk>", "lstrip": false}, "model_max_length": 512})");
  const WordPiece wp = WordPiece::from_dir(dir.path().string());
  CHECK_FALSE(wp.options().lower_case);
  CHECK_FALSE(wp.basic_tokenizer().strips_accents());
  CHECK(wp.tokenize("Hello hello HELLO") == Strings{"Hello", "hello", "<unk>"});
  CHECK(wp.unk_id() == 17);
}

TEST_CASE("WordPiece::from_dir: a tokenizer_config.json that exists but cannot be read is an error", "[tokenizer]") {
  ScratchDir dir;
  dir.write("vocab.txt", kVocab);
  const std::string config = dir.file("tokenizer_config.json");
  // A dangling link, as a missing blob of an HF cache snapshot leaves: not a silent fallback to uncased defaults.
  fs::create_symlink(dir.file("missing-blob"), config);
  CHECK(message_of([&] { WordPiece::from_dir(dir.path().string()); }) == config + ": tokenizer config not found");
  fs::remove(config);
  fs::create_directory(config);
  CHECK(message_of([&] { WordPiece::from_dir(dir.path().string()); }) ==
        config + ": tokenizer config is not a regular file");
}

TEST_CASE("WordPiece: a moved-from tokenizer's empty lookup tables find nothing", "[tokenizer]") {
  ScratchDir dir;
  WordPiece wp = WordPiece::from_vocab(dir.write("vocab.txt", kVocab));
  const WordPiece moved = std::move(wp);
  CHECK(moved.contains("hello"));
  CHECK_FALSE(wp.contains("hello"));  // used after the move on purpose: an empty table must not be indexed
}

// Needs about 8.5 GB of memory and half a minute, so it runs only when asked: test_tokenizer "[4gib]".
TEST_CASE("BasicTokenizer: words of more than 4 GiB are an error, not wrapped offsets", "[tokenizer][.][4gib]") {
  const BasicTokenizer basic;
  const std::string text(size_t{1} << 32, 'a');  // one word of 2^32 bytes: its end offset is 2^32
  Words words;
  words.bytes.reserve(text.size());  // split keeps the capacity, so the bytes never reallocate
  CHECK_THAT(message_of([&] { basic.split(text, words); }),
             Catch::Contains("the words of one text take 4294967296 bytes after normalisation; at most 4294967295"));
}
