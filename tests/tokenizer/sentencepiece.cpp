// SentencePiece wrapper on the real R8 training text: training (unigram and BPE), save/load, encode/decode round
// trips, determinism, and the errors for missing and corrupt model files.
#include <catch2/catch.hpp>

#include "tests/test_support.h"

#include "base/error.h"
#include "tokenizer/sentencepiece_model.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using docbert::tok::SentencePieceModel;
using docbert::tok::SentencePieceTrainOptions;
using docbert::tok::SentencePieceType;

namespace {

using docbert::test::ScratchDir;

// The text of each line of r8-train.txt (`<label digit> <text>`), trailing space removed.
const std::vector<std::string>& r8_train_texts() {
  static const std::vector<std::string> texts = [] {
    const std::string path = DOCBERT_SOURCE_DIR "/../shared/data/r8-r52/r8-train.txt";
    std::ifstream in(path);
    REQUIRE(in);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      std::string text = line.substr(line.find(' ') + 1);
      while (!text.empty() && text.back() == ' ') text.pop_back();
      out.push_back(text);
    }
    REQUIRE(out.size() == 5485);
    return out;
  }();
  return texts;
}

SentencePieceTrainOptions small_options(SentencePieceType type) {
  SentencePieceTrainOptions o;
  o.model_type = type;
  o.vocab_size = 2000;
  o.character_coverage = 1.0;
  return o;
}

// A model trained once per type and shared by the test cases (training takes a few seconds).
const SentencePieceModel& r8_model(SentencePieceType type) {
  static const SentencePieceModel unigram =
      SentencePieceModel::train(r8_train_texts(), small_options(SentencePieceType::Unigram));
  static const SentencePieceModel bpe =
      SentencePieceModel::train(r8_train_texts(), small_options(SentencePieceType::Bpe));
  return type == SentencePieceType::Unigram ? unigram : bpe;
}

}  // namespace

TEST_CASE("sentencepiece: unigram and BPE train on R8 with [PAD]=0, [UNK]=1 and no BOS/EOS", "[sentencepiece]") {
  for (auto type : {SentencePieceType::Unigram, SentencePieceType::Bpe}) {
    INFO(docbert::tok::sentencepiece_type_name(type));
    const SentencePieceModel& m = r8_model(type);
    CHECK(m.vocab_size() == 2000);
    CHECK(m.id_to_piece(0) == "[PAD]");
    CHECK(m.id_to_piece(1) == "[UNK]");
    CHECK(m.piece_to_id("<s>") == SentencePieceModel::kUnkId);
    CHECK(m.piece_to_id("</s>") == SentencePieceModel::kUnkId);
    const std::vector<int32_t> ids = m.encode("the company said its board approved the stock split");
    REQUIRE_FALSE(ids.empty());
    for (int32_t id : ids) {
      CHECK(id > SentencePieceModel::kUnkId);
      CHECK(id < m.vocab_size());
    }
    CHECK(m.encode_pieces("said").front() == "\xE2\x96\x81said");  // a frequent word is one piece, U+2581 first
  }
}

TEST_CASE("sentencepiece: decode(encode(x)) is x with whitespace collapsed, on real R8 lines", "[sentencepiece]") {
  for (auto type : {SentencePieceType::Unigram, SentencePieceType::Bpe}) {
    INFO(docbert::tok::sentencepiece_type_name(type));
    const SentencePieceModel& m = r8_model(type);
    const auto& texts = r8_train_texts();
    for (size_t i = 0; i < texts.size(); i += 37) {
      INFO("line " << i + 1);
      REQUIRE(m.decode(m.encode(texts[i])) == texts[i]);
    }
    // Case folding, whitespace collapsing and stripping are the normalisation.
    CHECK(m.decode(m.encode("  The   Company\tSaid \n")) == "the company said");
    CHECK(m.decode({}).empty());
    CHECK_THROWS_WITH(m.decode({5, 2000}), Catch::Contains("ids[1] = 2000 is outside [0, 2000)"));
  }
}

TEST_CASE("sentencepiece: save and load give the same bytes and the same ids", "[sentencepiece]") {
  const ScratchDir dir;
  const std::string path = dir.file("roundtrip.model");
  for (auto type : {SentencePieceType::Unigram, SentencePieceType::Bpe}) {
    const SentencePieceModel& m = r8_model(type);
    m.save(path);
    const SentencePieceModel loaded = SentencePieceModel::load(path);
    CHECK(loaded.serialized() == m.serialized());
    const auto& texts = r8_train_texts();
    for (size_t i = 0; i < texts.size(); i += 101) REQUIRE(loaded.encode(texts[i]) == m.encode(texts[i]));
  }
}

TEST_CASE("sentencepiece: the same texts and options give byte-identical models", "[sentencepiece]") {
  for (auto type : {SentencePieceType::Unigram, SentencePieceType::Bpe}) {
    INFO(docbert::tok::sentencepiece_type_name(type));
    const SentencePieceModel again = SentencePieceModel::train(r8_train_texts(), small_options(type));
    CHECK(again.serialized() == r8_model(type).serialized());
  }
}

TEST_CASE("sentencepiece: training from a callback equals training from a vector", "[sentencepiece]") {
  const auto& texts = r8_train_texts();
  size_t i = 0;
  const SentencePieceModel m = SentencePieceModel::train(
      [&](std::string& text) {
        if (i == texts.size()) return false;
        text = texts[i++];
        return true;
      },
      small_options(SentencePieceType::Bpe));
  CHECK(m.serialized() == r8_model(SentencePieceType::Bpe).serialized());
}

TEST_CASE("sentencepiece: errors name the file or quote the trainer", "[sentencepiece]") {
  CHECK_THROWS_WITH(SentencePieceModel::load("/nonexistent/student.model"),
                    Catch::Contains("/nonexistent/student.model: SentencePiece model not found"));
  const ScratchDir dir;
  const std::string path = dir.file("corrupt.model");
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not a protobuf";
  }
  CHECK_THROWS_WITH(SentencePieceModel::load(path), Catch::Contains(path) && Catch::Contains("not a SentencePiece"));

  SentencePieceTrainOptions o = small_options(SentencePieceType::Unigram);
  CHECK_THROWS_WITH(SentencePieceModel::train(std::vector<std::string>{}, o), Catch::Contains("no non-empty"));
  CHECK_THROWS_WITH(SentencePieceModel::train(std::vector<std::string>{"", ""}, o), Catch::Contains("no non-empty"));
  o.vocab_size = 500000;  // far more pieces than two short texts can give
  CHECK_THROWS_AS(SentencePieceModel::train(std::vector<std::string>{"a tiny corpus", "of two texts"}, o),
                  docbert::Error);
  CHECK_THROWS_WITH(docbert::tok::parse_sentencepiece_type("wordpiece"), Catch::Contains("'unigram' or 'bpe'"));
}
