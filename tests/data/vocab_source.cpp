// Which splits a student vocabulary is counted over: training text by default, all three as hedwig did.
#include <catch2/catch.hpp>

#include "tests/test_support.h"
#include "tokenizer/word_vocab.h"
#include "train/data/readers/r8_r52.h"

using namespace docbert;

TEST_CASE("vocab source: training text by default, train + dev + test with 'all'") {
  const data::Dataset ds = data::read_r8(test::shared_data("r8-r52"), data::ReadOptions{});
  const std::vector<std::string> train = data::vocab_texts(ds, data::VocabSource::Train);
  const std::vector<std::string> all = data::vocab_texts(ds, data::VocabSource::AllSplits);
  CHECK(static_cast<int64_t>(train.size()) == ds.count(data::Split::Train));
  CHECK(all.size() == ds.documents.size());
  CHECK(train.front() == ds.split(data::Split::Train).front()->text);

  // Test words reach the vocabulary only with 'all': the hedwig setting, off by default.
  const tok::WordTokenizer words(tok::WordTokenizerKind::Hedwig);
  const tok::WordVocab from_train = tok::WordVocab::build(train, words);
  const tok::WordVocab from_all = tok::WordVocab::build(all, words);
  CHECK(from_all.size() > from_train.size());
  int64_t test_only = 0;
  for (const data::Document* d : ds.split(data::Split::Test))
    for (const std::string& w : words.tokenize(d->text))
      test_only += from_train.id(w) == tok::WordVocab::kUnkId && from_all.id(w) != tok::WordVocab::kUnkId;
  CHECK(test_only > 0);

  CHECK(data::parse_vocab_source("train") == data::VocabSource::Train);
  CHECK(data::parse_vocab_source("all") == data::VocabSource::AllSplits);
  CHECK_THROWS_WITH(data::parse_vocab_source("dev"), Catch::Contains("expected train or all"));
}
