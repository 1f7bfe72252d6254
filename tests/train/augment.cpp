// The transfer set (train/student/augment.h) and what it stands on: the WordNet POS lexicon on the real database
// and on broken copies of it, FNV-1a checksums (engine/checksum.h), determinism across seeds and thread counts,
// empirical masking / replacement / n-gram rates on real Reuters training documents, and the on-disk round trip
// with its corruption errors.
#include <catch2/catch.hpp>

#include "engine/checksum.h"
#include "base/file_io.h"
#include "engine/parallel.h"
#include "tests/op_table.h"
#include "tests/test_support.h"
#include "tokenizer/word_tokenizer.h"
#include "train/data/load_dataset.h"
#include "train/student/augment.h"
#include "train/student/wordnet_pos.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace test = docbert::test;
using Catch::Matchers::Contains;
using docbert::train::AugmentOptions;
using docbert::train::build_transfer_set;
using docbert::train::Pos;
using docbert::train::PosLexicon;
using docbert::train::TransferSet;

namespace {

const PosLexicon& wordnet() {
  static const PosLexicon lex = PosLexicon::load(docbert::train::kDefaultWordNetDir);
  return lex;
}

// The first 300 Reuters training documents (DocBERT's split): ~45k words, enough for rates within a fraction of a
// percent and fast enough for a unit test.
struct ReutersSlice {
  docbert::data::Dataset ds;
  std::vector<const docbert::data::Document*> docs;
};
const ReutersSlice& reuters() {
  static const ReutersSlice slice = [] {
    ReutersSlice s;
    s.ds = docbert::data::load_dataset(test::shared_data("reuters21578"), docbert::data::Format::ReutersSgml, {});
    const auto train = s.ds.split(docbert::data::Split::Train);
    s.docs.assign(train.begin(), train.begin() + 300);
    return s;
  }();
  return slice;
}

std::vector<std::string> words_of(const std::string& text) {
  static const docbert::tok::WordTokenizer tokenizer(docbert::tok::WordTokenizerKind::Basic);
  return tokenizer.tokenize(text);
}

bool same_docs(const TransferSet& a, const TransferSet& b) {
  if (a.docs.size() != b.docs.size()) return false;
  for (size_t i = 0; i < a.docs.size(); ++i) {
    const auto &x = a.docs[i], &y = b.docs[i];
    if (x.id != y.id || x.source != y.source || x.copy != y.copy || x.text != y.text || x.labels != y.labels)
      return false;
  }
  return true;
}

// |got - want| within k standard errors of a binomial proportion `want` over n trials.
void check_rate(const char* what, double got, double want, double n, double k = 4) {
  const double se = std::sqrt(want * (1 - want) / n);
  INFO(what << ": got " << got << ", want " << want << " +- " << k << " x " << se << " (n = " << n << ")");
  CHECK(std::abs(got - want) <= k * se);
}

// The lines of a file, and writing them back with "\n" after each.
std::vector<std::string> read_lines(const std::string& path) { return test::file_lines(path); }
void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  std::ofstream(path, std::ios::binary) << s;
}

// A minimal WordNet folder under dir/wn: all eight files with a license line, `files` (name, entries) appended to it.
std::string fake_wordnet(const test::ScratchDir& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  const char* header = "  1 This software and database is being provided to you\n";
  for (const char* f :
       {"index.noun", "index.verb", "index.adj", "index.adv", "noun.exc", "verb.exc", "adj.exc", "adv.exc"})
    dir.write(std::string("wn/") + f, header);
  for (const auto& [name, content] : files) dir.write("wn/" + name, std::string(header) + content);
  return dir.file("wn");
}

}  // namespace

TEST_CASE("checksum: FNV-1a 64 test vectors, pieces and files", "[augment]") {
  using docbert::fnv1a64;
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
  CHECK(fnv1a64("bar", fnv1a64("foo")) == fnv1a64("foobar"));
  CHECK(docbert::checksum_hex(0xcbf29ce484222325ull) == "cbf29ce484222325");
  CHECK(docbert::checksum_hex(0x1f) == "000000000000001f");
  test::ScratchDir dir;
  std::string big(3 << 20, 'x');  // spans several 1 MiB reads
  big[(1 << 20) + 7] = 'y';
  CHECK(docbert::fnv1a64_file(dir.write("big.bin", big)) == fnv1a64(big));
  CHECK(docbert::fnv1a64_file(dir.write("empty", "")) == fnv1a64(""));
  CHECK_THROWS_WITH(docbert::fnv1a64_file(dir.file("missing")), Contains("missing: file not found"));
}

TEST_CASE("wordnet: parts of speech of real words through morphy", "[augment]") {
  const auto t0 = std::chrono::steady_clock::now();
  const PosLexicon lex = PosLexicon::load(docbert::train::kDefaultWordNetDir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("load took " << seconds << " s");
  CHECK(seconds < 2);               // ~0.2 s on the 2-core CI machine; the limit leaves room for a loaded one
  CHECK(lex.num_lemmas() > 80000);  // 82,982 in WordNet 3.0
  CHECK(lex.pos_of("companies") == Pos::Noun);  // ies -> y
  CHECK(lex.pos_of("boxes") == Pos::Noun);      // xes -> x
  CHECK(lex.pos_of("children") == Pos::Noun);   // noun.exc
  CHECK(lex.pos_of("running") == Pos::Verb);    // verb.exc (running run); run: 41 verb senses > 16 noun
  CHECK(lex.pos_of("said") == Pos::Verb);       // verb.exc (said say): say's 11 verb senses beat adj "said"'s 1
  CHECK(lex.pos_of("was") == Pos::Verb);        // verb.exc (was be)
  CHECK(lex.pos_of("bought") == Pos::Verb);
  CHECK(lex.pos_of("quickly") == Pos::Adv);
  CHECK(lex.pos_of("bigger") == Pos::Adj);  // adj.exc (bigger big)
  CHECK(lex.pos_of("in") == Pos::Noun);     // 3 noun senses, 3 adj: the tie goes to the noun
  CHECK_FALSE(lex.pos_of("the"));
  CHECK_FALSE(lex.pos_of("of"));
  CHECK_FALSE(lex.pos_of("1"));  // listed as a noun, skipped: no letter
  CHECK_FALSE(lex.pos_of("1987"));
  CHECK_FALSE(lex.pos_of("[MASK]"));
  CHECK_FALSE(lex.pos_of("new_york"));  // multi-word lemmas are skipped
  CHECK_FALSE(lex.pos_of(""));
  CHECK_FALSE(PosLexicon().pos_of("company"));
}

TEST_CASE("wordnet: rules, exceptions and ties on a hand-made database", "[augment]") {
  test::ScratchDir dir;
  const std::string wn = fake_wordnet(dir, {{"index.noun", "walk n 2 1 @ 2 0 1 2\nglass n 1 1 @ 1 0 3\n"},
                                            {"index.verb", "walk v 2 1 @ 2 0 4 5\ngo v 5 1 @ 5 0 1 2 3 4 5\n"},
                                            {"index.adj", "fast a 1 1 & 1 0 6\n"},
                                            {"verb.exc", "went go\n"}});
  const PosLexicon lex = PosLexicon::load(wn);
  CHECK(lex.num_lemmas() == 4);
  CHECK(lex.pos_of("walk") == Pos::Noun);    // 2 = 2: noun first
  CHECK(lex.pos_of("walked") == Pos::Verb);  // ed -> "" exists only for verbs
  CHECK(lex.pos_of("walking") == Pos::Verb);
  CHECK(lex.pos_of("glasses") == Pos::Noun);  // ses -> s
  CHECK(lex.pos_of("went") == Pos::Verb);
  CHECK(lex.pos_of("faster") == Pos::Adj);
  CHECK_FALSE(lex.pos_of("fasted"));
}

TEST_CASE("wordnet: a missing folder or file and malformed lines name the file and line", "[augment]") {
  test::ScratchDir dir;
  CHECK_THROWS_WITH(PosLexicon::load(dir.file("nowhere")), Contains("nowhere: WordNet folder not found"));
  {
    const std::string wn = fake_wordnet(dir, {});
    std::filesystem::remove(wn + "/index.verb");
    CHECK_THROWS_WITH(PosLexicon::load(wn), Contains("index.verb: WordNet index not found"));
  }
  {
    test::ScratchDir d;
    CHECK_THROWS_WITH(PosLexicon::load(fake_wordnet(d, {{"index.noun", "dog n 7 1\ncat v 1 1\n"}})),
                      Contains("index.noun:3: pos field is 'v', expected 'n'"));
  }
  {
    test::ScratchDir d;
    CHECK_THROWS_WITH(PosLexicon::load(fake_wordnet(d, {{"index.adv", "fast r many 0\n"}})),
                      Contains("index.adv:2: synset_cnt 'many' is not a positive integer"));
  }
  {
    test::ScratchDir d;
    CHECK_THROWS_WITH(PosLexicon::load(fake_wordnet(d, {{"index.adj", "\nfast a\n"}})),
                      Contains("index.adj:3: expected 'lemma pos synset_cnt p_cnt ...'"));
  }
  {
    test::ScratchDir d;
    CHECK_THROWS_WITH(PosLexicon::load(fake_wordnet(d, {{"verb.exc", "went go\nran\n"}})),
                      Contains("verb.exc:3: expected 'inflected base ...', got 'ran'"));
  }
}

TEST_CASE("augment: option checks", "[augment]") {
  const auto bad = [](auto edit) {
    AugmentOptions o;
    edit(o);
    return o;
  };
  using docbert::train::check_augment_options;
  CHECK_NOTHROW(check_augment_options(AugmentOptions{}));
  CHECK_THROWS_WITH(check_augment_options(bad([](AugmentOptions& o) { o.mask_prob = -0.1; })), Contains("mask_prob"));
  CHECK_THROWS_WITH(check_augment_options(bad([](AugmentOptions& o) { o.pos_prob = 0.95; })),
                    Contains("mask_prob + pos_prob must be at most 1"));
  CHECK_THROWS_WITH(check_augment_options(bad([](AugmentOptions& o) { o.ngram_prob = 1.5; })), Contains("ngram_prob"));
  CHECK_THROWS_WITH(check_augment_options(bad([](AugmentOptions& o) { o.ngram_max = 0; })), Contains("ngram_max"));
  CHECK_THROWS_WITH(check_augment_options(bad([](AugmentOptions& o) { o.copies = -1; })), Contains("copies"));
  CHECK_THROWS_WITH(check_augment_options(bad([](AugmentOptions& o) { o.max_redraws = -1; })), Contains("max_redraws"));
  CHECK(docbert::train::to_json(AugmentOptions{}).at("seed") == 3435);
}

TEST_CASE("augment: layout, copy 0 is the original, copies re-tokenise to themselves", "[augment]") {
  const auto& r = reuters();
  const TransferSet set = build_transfer_set(r.docs, AugmentOptions{}, wordnet());
  REQUIRE(set.docs.size() == 3 * r.docs.size());
  CHECK(set.stats.documents == 300);
  CHECK(set.stats.copies == 600);
  for (size_t i = 0; i < set.docs.size(); ++i) {
    const auto& d = set.docs[i];
    const auto& src = *r.docs[i / 3];
    INFO("transfer doc " << i << " (" << d.id << ")");
    REQUIRE(d.source == static_cast<int64_t>(i / 3));
    REQUIRE(d.copy == static_cast<int64_t>(i % 3));
    REQUIRE(d.labels == src.labels);
    if (d.copy == 0) {
      REQUIRE(d.id == src.id);
      REQUIRE(d.text == src.text);
    } else {
      REQUIRE(d.id == src.id + "#aug" + std::to_string(d.copy));
      // The premise of the word units: what the teacher's and the student's tokenizers read back is the copy.
      const auto w = words_of(d.text);
      std::string joined;
      for (const auto& x : w) joined += (joined.empty() ? "" : " ") + x;
      REQUIRE(joined == d.text);
      REQUIRE(w.size() == words_of(src.text).size());  // no cropping by default
    }
  }
}

TEST_CASE("augment: deterministic for a seed, whatever the thread count", "[augment]") {
  const auto& r = reuters();
  AugmentOptions o;
  o.ngram_prob = 0.25;  // exercise every random draw
  const TransferSet a = build_transfer_set(r.docs, o, wordnet());
  TransferSet one_thread;
  {
    test::ScopedThreads threads(1);
    one_thread = build_transfer_set(r.docs, o, wordnet());
  }
  TransferSet three_threads;
  {
    test::ScopedThreads threads(3);
    three_threads = build_transfer_set(r.docs, o, wordnet());
  }
  CHECK(same_docs(a, build_transfer_set(r.docs, o, wordnet())));
  CHECK(same_docs(a, one_thread));
  CHECK(same_docs(a, three_threads));
  CHECK(docbert::train::to_json(a.stats) == docbert::train::to_json(one_thread.stats));
  o.seed += 1;
  const TransferSet b = build_transfer_set(r.docs, o, wordnet());
  CHECK_FALSE(same_docs(a, b));
  // A different seed changes nearly every augmented copy, not just a few.
  int64_t differ = 0;
  for (size_t i = 0; i < a.docs.size(); ++i) differ += a.docs[i].copy > 0 && a.docs[i].text != b.docs[i].text;
  CHECK(differ > 550);
}

TEST_CASE("augment: masking and replacement rates on Reuters match the probabilities", "[augment]") {
  const auto& r = reuters();
  const PosLexicon& lex = wordnet();
  AugmentOptions o;
  o.copies = 3;
  o.mask_prob = 0.15;
  o.pos_prob = 0.2;
  const TransferSet set = build_transfer_set(r.docs, o, lex);
  const auto& s = set.stats;
  // Every original word is drawn over once per copy; the known-POS share is counted independently here.
  int64_t words = 0, known = 0;
  for (const auto* d : r.docs)
    for (const auto& w : words_of(d->text)) {
      ++words;
      known += lex.pos_of(w).has_value() && !docbert::train::is_function_word(w);
    }
  REQUIRE(s.words == o.copies * words);
  const double n = static_cast<double>(s.words), known_share = static_cast<double>(known) / words;
  INFO("known-POS share " << known_share);
  CHECK(known_share > 0.4);
  CHECK(known_share < 0.9);
  check_rate("mask", s.masked / n, o.mask_prob, n);
  check_rate("replace", s.replaced / n, o.pos_prob * known_share, n);
  check_rate("unknown POS kept", s.unknown_pos / n, o.pos_prob * (1 - known_share), n);
  // Only the empty documents (Reuters articles without TITLE or BODY) repeat: their every copy is the empty text.
  int64_t empty = 0;
  for (const auto* d : r.docs) empty += words_of(d->text).empty();
  CHECK(empty > 0);
  CHECK(s.duplicates == o.copies * empty);
  CHECK(s.redraws >= s.duplicates * o.max_redraws);
  CHECK(s.redraws < s.duplicates * o.max_redraws + 10);

  // The texts agree with the counts, and every replacement has the POS of the word it replaced.
  int64_t masks = 0, changed = 0, same_pos = 0;
  for (const auto& d : set.docs) {
    if (d.copy == 0) continue;
    const auto orig = words_of(r.docs[static_cast<size_t>(d.source)]->text);
    const auto copy = words_of(d.text);
    REQUIRE(copy.size() == orig.size());
    for (size_t j = 0; j < copy.size(); ++j) {
      if (copy[j] == "[MASK]") {
        ++masks;
      } else if (copy[j] != orig[j]) {
        ++changed;
        same_pos += lex.pos_of(copy[j]) == lex.pos_of(orig[j]) && lex.pos_of(orig[j]).has_value();
        CHECK_FALSE(docbert::train::is_function_word(orig[j]));
        CHECK_FALSE(docbert::train::is_function_word(copy[j]));
      }
    }
  }
  CHECK(masks == s.masked);
  CHECK(changed <= s.replaced);
  CHECK(changed > s.replaced * 9 / 10);  // a draw of the word itself is rare in pools of thousands of words
  CHECK(same_pos == changed);
}

TEST_CASE("augment: function words are kept unless asked for", "[augment]") {
  using docbert::train::is_function_word;
  for (const char* w : {"a", "in", "it", "the", "is", "will", "s", "u", "7", "ll", "themselves"})
    CHECK(is_function_word(w));
  for (const char* w : {"company", "said", "wheat", "pct", "in-house", "inn"}) CHECK_FALSE(is_function_word(w));
  const auto& r = reuters();
  const std::vector<const docbert::data::Document*> docs(r.docs.begin(), r.docs.begin() + 100);
  AugmentOptions o;
  o.pos_prob = 0.5;
  const auto replaced_in = [&](const TransferSet& set) {
    int64_t n = 0;
    for (const auto& d : set.docs) {
      if (d.copy == 0) continue;
      const auto orig = words_of(r.docs[static_cast<size_t>(d.source)]->text), copy = words_of(d.text);
      for (size_t j = 0; j < copy.size(); ++j) n += orig[j] == "in" && copy[j] != "in" && copy[j] != "[MASK]";
    }
    return n;
  };
  const TransferSet kept = build_transfer_set(docs, o, wordnet());
  CHECK(replaced_in(kept) == 0);
  o.replace_function_words = true;
  const TransferSet replaced = build_transfer_set(docs, o, wordnet());
  CHECK(replaced_in(replaced) > 20);
  CHECK(replaced.stats.replaced > kept.stats.replaced);
}

TEST_CASE("augment: an empty lexicon only masks; empty documents become duplicates", "[augment]") {
  const auto& r = reuters();
  const TransferSet set = build_transfer_set(r.docs, AugmentOptions{}, PosLexicon());
  CHECK(set.stats.replaced == 0);
  check_rate("unknown POS kept", static_cast<double>(set.stats.unknown_pos) / set.stats.words, 0.1,
             static_cast<double>(set.stats.words));

  docbert::data::Document empty{"e", "", {1}, docbert::data::Split::Train};
  docbert::data::Document one{"w", "Wheat", {2}, docbert::data::Split::Train};
  AugmentOptions o;
  o.max_redraws = 3;
  const TransferSet small = build_transfer_set({&empty, &one}, o, wordnet());
  REQUIRE(small.docs.size() == 6);
  CHECK(small.docs[1].text.empty());
  CHECK(small.docs[2].text.empty());
  // One word has only three outcomes ("wheat", "[MASK]", another noun): whatever was drawn, it is a single word.
  CHECK(words_of(small.docs[4].text).size() == 1);
  CHECK(small.stats.duplicates >= 2);
  CHECK(small.stats.redraws >= 2 * 3);
}

TEST_CASE("augment: n-gram cropping keeps 1..ngram_max words in the expected share of copies", "[augment]") {
  const auto& r = reuters();
  AugmentOptions o;
  o.ngram_prob = 0.3;
  o.ngram_max = 4;
  o.copies = 4;
  const TransferSet set = build_transfer_set(r.docs, o, wordnet());
  const double copies = static_cast<double>(set.stats.copies);
  check_rate("cropped", set.stats.cropped / copies, o.ngram_prob, copies);
  int64_t short_copies = 0;
  std::vector<int64_t> lengths(5, 0);
  for (const auto& d : set.docs) {
    if (d.copy == 0) continue;
    const size_t orig = words_of(r.docs[static_cast<size_t>(d.source)]->text).size();
    const size_t n = words_of(d.text).size();
    INFO(d.id << ": " << n << " of " << orig << " words");
    REQUIRE((n == orig || (n >= 1 && n <= 4)));
    if (n < orig) {
      ++short_copies;
      ++lengths[n];
    }
  }
  CHECK(short_copies <= set.stats.cropped);
  CHECK(short_copies >= set.stats.cropped - 20);  // only documents of <= 4 words crop to themselves
  for (int n = 1; n <= 4; ++n) CHECK(lengths[static_cast<size_t>(n)] > short_copies / 8);  // uniform n: ~1/4 each
}

TEST_CASE("augment: save and load round trip, checksums, provenance", "[augment]") {
  const auto& r = reuters();
  const std::vector<const docbert::data::Document*> docs(r.docs.begin(), r.docs.begin() + 20);
  AugmentOptions o;
  const TransferSet set = build_transfer_set(docs, o, wordnet());
  test::ScratchDir dir;
  const nlohmann::json prov = {{"options", docbert::train::to_json(o)}, {"dataset", "reuters"}};
  const std::string checksum = docbert::train::save_transfer_set(set, prov, r.ds.label_names, dir.path().string());
  CHECK(checksum == docbert::checksum_hex(docbert::fnv1a64_file(dir.file("transfer.jsonl"))));
  nlohmann::json got_prov;
  const TransferSet back = docbert::train::load_transfer_set(dir.path().string(), r.ds.label_names, &got_prov);
  CHECK(same_docs(set, back));
  CHECK(docbert::train::to_json(back.stats) == docbert::train::to_json(set.stats));
  CHECK(got_prov.at("dataset") == "reuters");
  CHECK(got_prov.at("options") == docbert::train::to_json(o));
  CHECK(got_prov.at("transfer_checksum") == checksum);
  CHECK(got_prov.at("documents") == 60);
  CHECK_THROWS_WITH(docbert::train::save_transfer_set(set, {{"stats", 1}}, r.ds.label_names, dir.path().string()),
                    Contains("\"stats\" is reserved"));
  CHECK_THROWS_WITH(docbert::train::save_transfer_set(set, prov, {"earn"}, dir.path().string()),
                    Contains("but there are 1 label names"));
}

TEST_CASE("augment: a corrupted transfer set is an error naming the file and line", "[augment]") {
  const auto& r = reuters();
  const std::vector<const docbert::data::Document*> docs(r.docs.begin(), r.docs.begin() + 5);
  const TransferSet set = build_transfer_set(docs, AugmentOptions{}, wordnet());
  test::ScratchDir dir;
  const std::string folder = dir.path().string(), path = dir.file("transfer.jsonl");
  docbert::train::save_transfer_set(set, nlohmann::json::object(), r.ds.label_names, folder);
  const std::vector<std::string> lines = read_lines(path);
  REQUIRE(lines.size() == 15);
  const auto load = [&] { return docbert::train::load_transfer_set(folder, r.ds.label_names); };
  const auto corrupt = [&](size_t line, const std::string& from, const std::string& to) {
    std::vector<std::string> edited = lines;
    const size_t at = edited[line].find(from);
    REQUIRE(at != std::string::npos);
    edited[line].replace(at, from.size(), to);
    write_lines(path, edited);
  };
  SECTION("an edited text") {
    corrupt(4, "\"text\":\"", "\"text\":\"x");
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl:5: \"check\" is") && Contains("the line was edited"));
  }
  SECTION("bad JSON") {
    corrupt(2, "\"text\":", "\"text\"");
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl:3: malformed JSON"));
  }
  SECTION("an unknown label") {
    corrupt(1, "\"labels\":[\"", "\"labels\":[\"nosuch");
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl:2: unknown label 'nosuch"));
  }
  SECTION("a missing key") {
    corrupt(0, "\"copy\":0,", "");
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl:1: expected an object with the keys"));
  }
  SECTION("lines out of order") {
    std::vector<std::string> edited = lines;
    std::swap(edited[1], edited[2]);
    write_lines(path, edited);
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl:2: copy 2 of source 0"));
  }
  SECTION("a dropped document") {
    write_lines(path, std::vector<std::string>(lines.begin(), lines.end() - 3));
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl: 12 documents, but") && Contains("says 15"));
  }
  SECTION("a reformatted line") {
    corrupt(0, "\"id\":", "\"id\": ");  // same content, different bytes: only the file checksum sees it
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl: content checksum"));
  }
  SECTION("a truncated file") {
    const std::string text = docbert::read_file(path, "test");
    std::ofstream(path, std::ios::binary) << text.substr(0, text.size() - 10);
    CHECK_THROWS_WITH(load(), Contains("transfer.jsonl:15: the last line has no newline"));
  }
  SECTION("a provenance of another kind") {
    dir.write("provenance.json", "{\"format\": 7}");
    CHECK_THROWS_WITH(load(), Contains("provenance.json: \"format\" must be \"docbert-transfer-set\""));
  }
  SECTION("a missing provenance") {
    std::filesystem::remove(dir.file("provenance.json"));
    CHECK_THROWS_WITH(load(), Contains("provenance.json"));
  }
}

// The figures of docs/transfer-set.md: the full Reuters training split with the default options. Hidden (run it with
// test_train "[.transfer-figures]"): it measures rather than checks.
TEST_CASE("augment: figures of the full Reuters transfer set", "[.transfer-figures]") {
  const auto& r = reuters();
  const auto train = r.ds.split(docbert::data::Split::Train);
  const auto t0 = std::chrono::steady_clock::now();
  const PosLexicon lex = PosLexicon::load(docbert::train::kDefaultWordNetDir);
  const auto t1 = std::chrono::steady_clock::now();
  const TransferSet set = build_transfer_set(train, AugmentOptions{}, lex);
  const auto t2 = std::chrono::steady_clock::now();
  const auto& s = set.stats;
  const double n = static_cast<double>(s.words);
  WARN(train.size() << " documents -> " << set.docs.size() << " transfer documents; " << s.words
                    << " words in copies; masked " << 100 * s.masked / n << "%, replaced " << 100 * s.replaced / n
                    << "%, unknown POS kept " << 100 * s.unknown_pos / n << "%; redraws " << s.redraws
                    << ", duplicates " << s.duplicates << "; WordNet load "
                    << std::chrono::duration<double>(t1 - t0).count() << " s, build "
                    << std::chrono::duration<double>(t2 - t1).count() << " s on " << docbert::num_threads()
                    << " threads");
  test::ScratchDir dir;
  const auto t3 = std::chrono::steady_clock::now();
  docbert::train::save_transfer_set(set, nlohmann::json::object(), r.ds.label_names, dir.path().string());
  const auto t4 = std::chrono::steady_clock::now();
  docbert::train::load_transfer_set(dir.path().string(), r.ds.label_names);
  const auto t5 = std::chrono::steady_clock::now();
  WARN("save " << std::chrono::duration<double>(t4 - t3).count() << " s, load "
               << std::chrono::duration<double>(t5 - t4).count() << " s, transfer.jsonl "
               << std::filesystem::file_size(dir.file("transfer.jsonl")) << " bytes");
}
