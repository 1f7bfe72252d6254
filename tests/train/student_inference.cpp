// The student's encoder (every kind against its tokenizer, truncation, the empty document, "[MASK]", folder round
// trips and the strict student_tokenizer.json), its model folder (save, load, the vocabulary-size check,
// is_student_dir) and predict_student_logits against one forward pass per document. docbert_predict on a student
// folder is tested end to end by the CTest commands of train/CMakeLists.txt.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/parallel.h"
#include "tests/test_support.h"
#include "tokenizer/sentencepiece_model.h"
#include "tokenizer/wordpiece.h"
#include "train/student/encoder.h"
#include "train/student/inference.h"
#include "train/student/model_dir.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

using namespace docbert;
using Catch::Matchers::Contains;
using train::StudentEncoder;
using Docs = std::vector<std::vector<int32_t>>;

namespace {

const std::vector<std::string> kTexts = {
    "Oil prices rose sharply, traders said.",
    "Wheat exports fell; the [MASK] rose.",
    "The company bought shares of U.S. Steel in Zürich.",
    "oil oil oil wheat",
};

// The first n texts of R8's training file (`<label> <text>` lines).
std::vector<std::string> r8_texts(size_t n) {
  std::vector<std::string> lines = test::file_lines(test::shared_data("r8-r52/r8-train.txt"));
  lines.resize(n);
  for (std::string& l : lines) l = l.substr(l.find(' ') + 1);
  return lines;
}

// A small LSTM_reg over `encoder`'s vocabulary: 3 labels, E 8, H 6, bidirectional.
lstm_reg::LstmReg tiny_student(const StudentEncoder& encoder, uint64_t seed = 7) {
  lstm_reg::LstmRegConfig c;
  c.vocab_size = encoder.vocab_size();
  c.embed_dim = 8;
  c.hidden = 6;
  c.num_labels = 3;
  c.problem_type = ProblemType::MultiLabel;
  c.labels = {"acq", "crude", "earn"};
  c.pad_id = encoder.pad_id();
  return lstm_reg::LstmReg(c, seed);
}

// The logits of one document forwarded alone: (K) f32.
std::vector<float> alone(const lstm_reg::LstmReg& model, const std::vector<int32_t>& doc) {
  const NoGradGuard no_grad;
  const auto t = static_cast<int64_t>(doc.size());
  const Tensor ids = Tensor::from_vector(std::vector<int64_t>(doc.begin(), doc.end()), {1, t});
  return model.forward(ids, Tensor::from_vector(std::vector<int64_t>{t}, {1})).logits.to_vector<float>();
}

}  // namespace

TEST_CASE("student encoder: word kinds equal their tokenizer and vocabulary, truncated, never empty", "[student]") {
  const StudentEncoder basic = StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Basic, {}, 0);
  CHECK(basic.kind_name() == "word");
  REQUIRE(basic.words() != nullptr);
  CHECK(basic.wordpiece() == nullptr);
  CHECK(basic.vocab_size() == basic.words()->size());
  CHECK(basic.pad_id() == 0);
  CHECK(basic.unk_id() == 1);
  const tok::WordTokenizer tokenizer(tok::WordTokenizerKind::Basic);
  for (const std::string& t : kTexts) CHECK(basic.encode(t) == basic.words()->encode(t, tokenizer));
  // The transfer set's mask token is one word of the vocabulary, not "[", "mask", "]".
  const int32_t mask = basic.words()->id("[MASK]");
  CHECK(mask > 1);
  CHECK(basic.encode("[MASK]") == std::vector<int32_t>{mask});
  CHECK(basic.encode("oil [MASK] wheat") ==
        std::vector<int32_t>{basic.words()->id("oil"), mask, basic.words()->id("wheat")});

  // Out-of-vocabulary words become [UNK] and are counted; the empty document's placeholder [UNK] is not.
  int64_t oov = 0;
  CHECK(basic.encode("oil zebra quagga", &oov) == std::vector<int32_t>{basic.words()->id("oil"), 1, 1});
  CHECK(oov == 2);
  CHECK(basic.encode("", &oov) == std::vector<int32_t>{1});
  CHECK(basic.encode(" \n\t ", &oov) == std::vector<int32_t>{1});
  CHECK(oov == 2);

  // max_tokens keeps the first ids.
  StudentEncoder cut = StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Basic, {}, 3);
  CHECK(cut.max_tokens() == 3);
  const std::vector<int32_t> full = basic.encode(kTexts[2]);
  REQUIRE(full.size() > 3);
  CHECK(cut.encode(kTexts[2]) == std::vector<int32_t>(full.begin(), full.begin() + 3));
  CHECK(cut.encode("oil") == basic.encode("oil"));
  cut.set_max_tokens(0);
  CHECK(cut.encode(kTexts[2]) == full);
  CHECK_THROWS_WITH(cut.set_max_tokens(-1), Contains("max_tokens must be >= 0"));
  CHECK_THROWS_WITH(StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Basic, {}, -2),
                    Contains("max_tokens must be >= 0"));

  // hedwig's clean_string: "[MASK]" is the word "mask"; punctuation-only text has no word at all.
  const StudentEncoder hedwig = StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Hedwig, {}, 0);
  CHECK(hedwig.kind_name() == "word-hedwig");
  const tok::WordTokenizer hedwig_tokenizer(tok::WordTokenizerKind::Hedwig);
  for (const std::string& t : kTexts) CHECK(hedwig.encode(t) == hedwig.words()->encode(t, hedwig_tokenizer));
  CHECK(hedwig.encode("[MASK]") == std::vector<int32_t>{hedwig.words()->id("mask")});
  CHECK(hedwig.encode("... --- ...") == std::vector<int32_t>{1});

  // WordVocabOptions reach the vocabulary.
  tok::WordVocabOptions frequent;
  frequent.min_freq = 2;
  const StudentEncoder min2 = StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Basic, frequent, 0);
  CHECK(min2.vocab_size() < basic.vocab_size());
  CHECK(min2.words()->id("oil") > 1);
  CHECK(min2.words()->id("wheat") > 1);
  CHECK(min2.words()->id("traders") == 1);
}

TEST_CASE("student encoder: wordpiece gives the pieces without [CLS]/[SEP], sentencepiece its ids", "[student]") {
  const std::string vocab = test::shared_data("vocab/bert-base-uncased/vocab.txt");
  const tok::WordPiece wp = tok::WordPiece::from_vocab(vocab);
  const StudentEncoder pieces = StudentEncoder::from_wordpiece(vocab, 0);
  CHECK(pieces.kind_name() == "wordpiece");
  REQUIRE(pieces.wordpiece() != nullptr);
  CHECK(pieces.words() == nullptr);
  CHECK(pieces.vocab_size() == 30522);
  CHECK(pieces.pad_id() == wp.pad_id());
  CHECK(pieces.unk_id() == wp.unk_id());
  for (const std::string& t : kTexts) CHECK(pieces.encode(t) == wp.tokenize_ids(t));
  CHECK(pieces.encode("[MASK]") == std::vector<int32_t>{wp.mask_id()});
  CHECK(pieces.encode("") == std::vector<int32_t>{wp.unk_id()});
  const StudentEncoder four = StudentEncoder::from_wordpiece(vocab, 4);
  const std::vector<int32_t> all = wp.tokenize_ids(kTexts[2]);
  CHECK(four.encode(kTexts[2]) == std::vector<int32_t>(all.begin(), all.begin() + 4));
  // A vocabulary without [PAD]: no pad row.
  test::ScratchDir dir;
  CHECK(StudentEncoder::from_wordpiece(dir.write("vocab.txt", "[UNK]\noil\n"), 0).pad_id() == -1);

  tok::SentencePieceTrainOptions o;
  o.vocab_size = 400;
  o.character_coverage = 1.0;
  const tok::SentencePieceModel sp = tok::SentencePieceModel::train(r8_texts(500), o);
  const std::string model_path = dir.file("r8.model");
  sp.save(model_path);
  const StudentEncoder spe = StudentEncoder::from_sentencepiece(model_path, 0);
  CHECK(spe.kind_name() == "sentencepiece");
  CHECK(spe.vocab_size() == 400);
  CHECK(spe.pad_id() == 0);
  CHECK(spe.unk_id() == 1);
  for (const std::string& t : kTexts) CHECK(spe.encode(t) == sp.encode(t));
  CHECK(spe.encode("") == std::vector<int32_t>{1});
}

TEST_CASE("student encoder: encode_all equals encode for every thread count", "[student]") {
  std::vector<std::string> texts = r8_texts(300);
  texts.push_back("");
  const StudentEncoder enc = StudentEncoder::build_words(r8_texts(100), tok::WordTokenizerKind::Basic, {}, 50);
  int64_t want_oov = 0;
  Docs want;
  for (const std::string& t : texts) want.push_back(enc.encode(t, &want_oov));
  REQUIRE(want_oov > 0);  // documents 100.. have words the vocabulary lacks
  for (int threads : {1, 2, 3}) {
    INFO(threads << " threads");
    set_num_threads(threads);
    int64_t oov = 5;
    CHECK(enc.encode_all(texts, &oov) == want);
    CHECK(oov == 5 + want_oov);
  }
  set_num_threads(0);
  CHECK(enc.encode_all({}).empty());
}

TEST_CASE("student encoder: folders round-trip every kind; student_tokenizer.json is strict", "[student]") {
  test::ScratchDir dir;
  const std::string vocab = test::shared_data("vocab/bert-base-uncased/vocab.txt");
  tok::SentencePieceTrainOptions o;
  o.vocab_size = 300;
  o.character_coverage = 1.0;
  tok::SentencePieceModel::train(r8_texts(300), o).save(dir.file("sp.model"));
  const std::vector<StudentEncoder> encoders = {
      StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Basic, {}, 0),
      StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Hedwig, {}, 5),
      StudentEncoder::from_wordpiece(vocab, 7), StudentEncoder::from_sentencepiece(dir.file("sp.model"), 9)};
  for (const StudentEncoder& e : encoders) {
    INFO(e.kind_name());
    const std::string folder = dir.file(e.kind_name());
    e.save(folder);
    const StudentEncoder back = StudentEncoder::load(folder);
    CHECK(back.kind() == e.kind());
    CHECK(back.max_tokens() == e.max_tokens());
    CHECK(back.vocab_size() == e.vocab_size());
    CHECK(back.pad_id() == e.pad_id());
    for (const std::string& t : kTexts) CHECK(back.encode(t) == e.encode(t));
    CHECK(std::filesystem::exists(folder + "/student_tokenizer.json"));
    CHECK_FALSE(std::filesystem::exists(folder + "/student_tokenizer.json.tmp"));
  }
  // The saved WordPiece vocabulary is the original file, byte for byte.
  CHECK(test::file_lines(dir.file("wordpiece/vocab.txt")) == test::file_lines(vocab));

  const std::string words = dir.file("word");
  const std::string config = words + "/student_tokenizer.json";
  const auto refuse = [&](const std::string& json, const std::string& message) {
    dir.write("word/student_tokenizer.json", json);
    CHECK_THROWS_WITH(StudentEncoder::load(words), Contains(config) && Contains(message));
  };
  refuse(R"({"kind": "word", "max_tokens": 0, "lowercase": true})", "unknown key 'lowercase'");
  refuse(R"({"max_tokens": 0})", "'kind' is missing or not a string");
  refuse(R"({"kind": 3, "max_tokens": 0})", "'kind' is missing or not a string");
  refuse(R"({"kind": "word"})", "'max_tokens' is missing or not an integer");
  refuse(R"({"kind": "word", "max_tokens": 1.5})", "'max_tokens' is missing or not an integer");
  refuse(R"({"kind": "word", "max_tokens": -1})", "max_tokens must be >= 0");
  refuse(R"({"kind": "words", "max_tokens": 0})", "unknown student tokenizer 'words'");
  refuse(R"(["word"])", "expected a JSON object");
  refuse("{", "malformed JSON");
  // Vocabulary errors name their own file.
  dir.write("word/student_tokenizer.json", R"({"kind": "sentencepiece", "max_tokens": 0})");
  CHECK_THROWS_WITH(StudentEncoder::load(words), Contains(words + "/spiece.model"));
  CHECK_THROWS_WITH(StudentEncoder::load(dir.file("missing")), Contains("student_tokenizer.json"));
}

TEST_CASE("student folder: save, load, identical logits; the vocabulary must fit the model", "[student]") {
  test::ScratchDir dir;
  const StudentEncoder enc = StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Basic, {}, 0);
  const lstm_reg::LstmReg model = tiny_student(enc);
  const std::string folder = dir.file("student");
  train::save_student_dir(model, enc, folder);
  CHECK(train::is_student_dir(folder));
  const train::StudentModel back = train::load_student_dir(folder);
  CHECK(back.model.labels() == model.labels());
  CHECK(back.encoder.kind_name() == "word");
  const Docs docs = back.encoder.encode_all(kTexts);
  CHECK(docs == enc.encode_all(kTexts));
  const Tensor a = train::predict_student_logits(model, docs, 2);
  const Tensor b = train::predict_student_logits(back.model, docs, 2);
  CHECK(a.to_vector<float>() == b.to_vector<float>());

  // A model whose vocab_size differs from the encoder's, both ways.
  const StudentEncoder other = StudentEncoder::build_words({"just two words"}, tok::WordTokenizerKind::Basic, {}, 0);
  CHECK_THROWS_WITH(train::save_student_dir(model, other, dir.file("bad")),
                    Contains(dir.file("bad")) && Contains("the word vocabulary has 5 entries") &&
                        Contains("config.json's vocab_size is " + std::to_string(enc.vocab_size())));
  other.save(folder);
  CHECK_THROWS_WITH(train::load_student_dir(folder), Contains(folder) && Contains("vocabulary has 5 entries"));

  // Not student folders: a BERT teacher's, a folder without config.json, a broken config.json.
  CHECK_FALSE(
      train::is_student_dir(std::string(DOCBERT_SOURCE_DIR) + "/tests/golden/fixtures/bert_classifier_multi_hf"));
  CHECK_FALSE(train::is_student_dir(dir.file("missing")));
  dir.write("broken/config.json", "{\"model_type\": ");
  CHECK_FALSE(train::is_student_dir(dir.file("broken")));
}

TEST_CASE("predict_student_logits matches one forward pass per document, in input order", "[student]") {
  const StudentEncoder enc = StudentEncoder::build_words(r8_texts(50), tok::WordTokenizerKind::Basic, {}, 0);
  const lstm_reg::LstmReg model = tiny_student(enc, 11);
  // Ragged, unsorted lengths with ties and single-id documents.
  Docs docs;
  for (int len : {7, 1, 40, 12, 12, 3, 25, 1, 2, 12, 5, 33, 9}) {
    std::vector<int32_t>& d = docs.emplace_back();
    for (int t = 0; t < len; ++t) d.push_back(static_cast<int32_t>((7 * docs.size() + 13 * t) % enc.vocab_size()));
  }
  const int64_t k = 3;
  std::vector<std::vector<float>> want;
  for (const auto& d : docs) want.push_back(alone(model, d));
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (int64_t batch_size : {1, 7, 64}) {
      INFO("threads " << threads << ", batch size " << batch_size);
      std::vector<int64_t> done;
      const Tensor got = train::predict_student_logits(model, docs, batch_size, [&](int64_t n) { done.push_back(n); });
      REQUIRE(got.dtype() == DType::F32);
      REQUIRE(got.shape() == Shape{static_cast<int64_t>(docs.size()), k});
      const std::vector<float> rows = got.to_vector<float>();
      for (size_t i = 0; i < docs.size(); ++i) {
        INFO("document " << i);
        for (int64_t j = 0; j < k; ++j) CHECK(std::abs(rows[i * k + j] - want[i][j]) <= 1e-5f);
      }
      REQUIRE(static_cast<int64_t>(done.size()) == (static_cast<int64_t>(docs.size()) + batch_size - 1) / batch_size);
      CHECK(done.back() == static_cast<int64_t>(docs.size()));
    }
  }
  set_num_threads(0);
}

TEST_CASE("predict_student_logits gives no rows for no documents and refuses bad input", "[student]") {
  const StudentEncoder enc = StudentEncoder::build_words(kTexts, tok::WordTokenizerKind::Basic, {}, 0);
  const lstm_reg::LstmReg model = tiny_student(enc);
  CHECK(train::predict_student_logits(model, {}, 8).shape() == Shape{0, 3});
  CHECK_THROWS_WITH(train::predict_student_logits(model, {{2}}, 0), Contains("batch_size must be at least 1"));
  CHECK_THROWS_WITH(train::predict_student_logits(model, {{2, 3}, {}}, 4), Contains("document 1 has no ids"));
  const auto v = static_cast<int32_t>(enc.vocab_size());
  CHECK_THROWS_WITH(train::predict_student_logits(model, {{2}, {3, v}}, 4),
                    Contains("document 1 has id " + std::to_string(v) + ", outside the model's vocabulary"));
  CHECK_THROWS_WITH(train::predict_student_logits(model, {{-1}}, 4), Contains("document 0 has id -1"));
}
