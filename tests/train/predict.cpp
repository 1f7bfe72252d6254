// Teacher inference and the logits file: predict_logits against one forward pass per document (any batch size, the
// input order restored), encode_texts against WordPiece::encode, and the logits file's round trip and every error
// of load_logits and save_logits. docbert_predict itself is tested end to end by the CTest commands of
// train/CMakeLists.txt.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "base/file_io.h"
#include "engine/parallel.h"
#include "engine/safetensors.h"
#include "models/bert/classifier.h"
#include "tests/op_table.h"
#include "tests/test_support.h"
#include "tokenizer/wordpiece.h"
#include "train/common/logits_file.h"
#include "train/teacher/inference.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace docbert;
using Catch::Matchers::Contains;
using Docs = std::vector<std::vector<int32_t>>;

namespace {

// The tiny multi-label classifier transformers wrote (vocabulary 100, 64 positions, 5 labels).
const bert::BertClassifier& hf_model() {
  static const bert::BertClassifier model = bert::BertClassifier::from_pretrained(
      std::string(DOCBERT_SOURCE_DIR) + "/tests/golden/fixtures/bert_classifier_multi_hf");
  return model;
}

// Documents of the given lengths: [CLS]-like 2, then ids cycling through [5, 100), then 3; a length 1 is just [2].
Docs docs_of_lengths(const std::vector<int>& lengths) {
  Docs docs;
  for (size_t i = 0; i < lengths.size(); ++i) {
    auto& d = docs.emplace_back();
    for (int t = 0; t < lengths[i]; ++t)
      d.push_back(t == 0 ? 2 : t == lengths[i] - 1 ? 3 : static_cast<int32_t>(5 + (7 * i + 13 * t) % 95));
  }
  return docs;
}

// The logits of one document forwarded alone, without padding or mask: (K) f32.
std::vector<float> alone(const bert::BertClassifier& model, const std::vector<int32_t>& doc) {
  const NoGradGuard no_grad;
  std::vector<int64_t> ids(doc.begin(), doc.end());
  const Tensor logits = model.forward(Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}));
  return logits.to_vector<float>();
}

// A small valid logits file's contents: 3 documents, 2 labels.
train::LogitsFile sample_file() {
  train::LogitsFile f;
  f.logits = Tensor::from_vector(std::vector<float>{0.5f, -1.25f, 3.0f, 0.0f, -7.5f, 1e-8f}, {3, 2});
  f.document_ids = {"test:1", "test:2", "reuters-14826"};
  f.labels = {"earn", "acq"};
  f.problem = ProblemType::MultiLabel;
  f.metadata = {{"model", "runs/teacher/best"}, {"max_seq_length", "512"}, {"truncation", "head"}};
  return f;
}

// Writes a safetensors file with `tensors` and `metadata`, for load_logits to reject.
std::string write_raw(const test::ScratchDir& dir, const std::string& name, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string path = dir.file(name);
  save_safetensors(path, tensors, metadata);
  return path;
}

// The metadata save_logits writes for sample_file().
std::map<std::string, std::string> sample_metadata() {
  return {{"format", "docbert-logits"},
          {"version", "1"},
          {"problem_type", "multi_label_classification"},
          {"labels", R"(["earn","acq"])"},
          {"document_ids", R"(["a","b","c"])"}};
}

}  // namespace

TEST_CASE("predict_logits matches one forward pass per document, in input order", "[predict]") {
  const bert::BertClassifier& model = hf_model();
  // Unsorted lengths with ties, the longest at the model's limit: ByLength batching reorders all of them.
  const Docs docs = docs_of_lengths({7, 1, 64, 12, 12, 3, 40, 2, 25, 12, 5});
  const int64_t k = model.num_labels();
  std::vector<std::vector<float>> want;
  for (const auto& d : docs) want.push_back(alone(model, d));
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (int64_t batch_size : {1, 2, 3, 4, 11, 64}) {
      INFO("threads " << threads << ", batch size " << batch_size);
      std::vector<int64_t> done;
      const Tensor got = train::predict_logits(model, docs, batch_size, [&](int64_t n) { done.push_back(n); });
      REQUIRE(got.dtype() == DType::F32);
      REQUIRE(got.shape() == Shape{static_cast<int64_t>(docs.size()), k});
      const std::vector<float> rows = got.to_vector<float>();
      for (size_t i = 0; i < docs.size(); ++i) {
        INFO("document " << i);
        for (int64_t j = 0; j < k; ++j) CHECK(std::abs(rows[i * k + j] - want[i][j]) <= 1e-5f);
      }
      // One call per batch, counting up to every document.
      REQUIRE(static_cast<int64_t>(done.size()) == (static_cast<int64_t>(docs.size()) + batch_size - 1) / batch_size);
      for (size_t b = 1; b < done.size(); ++b) CHECK(done[b] > done[b - 1]);
      CHECK(done.back() == static_cast<int64_t>(docs.size()));
    }
  }
  set_num_threads(0);
}

TEST_CASE("predict_logits gives no rows for no documents and refuses bad input", "[predict]") {
  const bert::BertClassifier& model = hf_model();
  const Tensor none = train::predict_logits(model, {}, 8);
  CHECK(none.shape() == Shape{0, model.num_labels()});
  CHECK_THROWS_WITH(train::predict_logits(model, docs_of_lengths({3}), 0), Contains("batch_size must be at least 1"));
  CHECK_THROWS_WITH(train::predict_logits(model, docs_of_lengths({3, 65}), 4),
                    Contains("document 1 has 65 ids; the model takes 1 to 64"));
  CHECK_THROWS_WITH(train::predict_logits(model, {{2, 3}, {}}, 4), Contains("document 1 has 0 ids"));
}

TEST_CASE("encode_texts equals WordPiece::encode for every document and thread count", "[predict]") {
  const tok::WordPiece wp = tok::WordPiece::from_vocab(test::shared_data("vocab/bert-base-uncased/vocab.txt"));
  std::vector<std::string> texts;
  for (int i = 0; i < 40; ++i) {
    std::string t;
    for (int w = 0; w < 3 * i; ++w) t += (w % 5 == 0 ? "Unaffable " : w % 3 == 0 ? "oil, " : "prices rose ");
    texts.push_back(t);
  }
  texts.push_back("");  // [CLS] [SEP]
  for (const auto& [truncation, max_len, head] : std::vector<std::tuple<tok::Truncation, int, int>>{
           {tok::Truncation::Head, 32, 128}, {tok::Truncation::Tail, 16, 128}, {tok::Truncation::HeadTail, 20, 5}}) {
    for (int threads : {1, 2}) {
      INFO(tok::truncation_name(truncation) << ", " << threads << " threads");
      set_num_threads(threads);
      const Docs got = train::encode_texts(wp, texts, max_len, truncation, head);
      REQUIRE(got.size() == texts.size());
      for (size_t i = 0; i < texts.size(); ++i) CHECK(got[i] == wp.encode(texts[i], max_len, truncation, head));
      CHECK(got.back() == std::vector<int32_t>{wp.cls_id(), wp.sep_id()});
      CHECK(got[39].size() == static_cast<size_t>(max_len));  // long enough to be truncated
    }
  }
  set_num_threads(0);
  CHECK(train::encode_texts(wp, {}, 8, tok::Truncation::Head).empty());
  CHECK_THROWS_WITH(train::encode_texts(wp, texts, 0, tok::Truncation::Head), Contains("at least 2"));
  CHECK_THROWS_WITH(train::encode_texts(wp, texts, 1, tok::Truncation::Head), Contains("at least 2"));
  // Errors encode() would raise inside the parallel loop arrive as exceptions here, not as std::terminate.
  CHECK_THROWS_WITH(train::encode_texts(wp, texts, 16, tok::Truncation::HeadTail, 15),
                    Contains("head_pieces must be in [0, max_seq_len - 2 = 14]"));
  test::ScratchDir dir;
  const tok::WordPiece no_cls = tok::WordPiece::from_vocab(dir.write("vocab.txt", "[UNK]\noil\n[SEP]\n"));
  CHECK_THROWS_WITH(train::encode_texts(no_cls, texts, 16, tok::Truncation::Head), Contains("[CLS]"));
}

TEST_CASE("logits files round-trip every field", "[predict]") {
  test::ScratchDir dir;
  const train::LogitsFile f = sample_file();
  const std::string path = dir.file("test.logits");
  train::save_logits(path, f);
  const train::LogitsFile g = train::load_logits(path);
  CHECK(test::bit_equal(g.logits, f.logits));
  CHECK(g.document_ids == f.document_ids);
  CHECK(g.labels == f.labels);
  CHECK(g.problem == ProblemType::MultiLabel);
  CHECK(g.metadata == f.metadata);  // the extra entries only; the format's own fields are not repeated there
  // What other readers (Python's safetensors) see: plain metadata strings, one F32 tensor.
  const SafetensorsFile st = SafetensorsFile::open(path);
  CHECK(st.metadata().at("format") == "docbert-logits");
  CHECK(st.metadata().at("version") == "1");
  CHECK(st.metadata().at("problem_type") == "multi_label_classification");
  CHECK(st.metadata().at("labels") == R"(["earn","acq"])");
  CHECK(st.metadata().at("document_ids") == R"(["test:1","test:2","reuters-14826"])");
  REQUIRE(st.entries().size() == 1);
  CHECK(st.entry("logits").dtype == "F32");

  // Single-label, no extra metadata, and no documents at all.
  train::LogitsFile empty;
  empty.logits = Tensor::zeros({0, 3});
  empty.labels = {"neg", "neu", "pos"};
  train::save_logits(path, empty);
  const train::LogitsFile e = train::load_logits(path);
  CHECK(e.logits.shape() == Shape{0, 3});
  CHECK(e.document_ids.empty());
  CHECK(e.labels == empty.labels);
  CHECK(e.problem == ProblemType::SingleLabel);
  CHECK(e.metadata.empty());
}

TEST_CASE("save_logits refuses inconsistent contents, naming the field", "[predict]") {
  test::ScratchDir dir;
  const std::string path = dir.file("bad.logits");
  const auto refuse = [&](void (*edit)(train::LogitsFile&), const std::string& message) {
    train::LogitsFile f = sample_file();
    edit(f);
    CHECK_THROWS_WITH(train::save_logits(path, f), Contains(path) && Contains(message));
  };
  refuse([](train::LogitsFile& f) { f.logits = Tensor(); }, "\"logits\" must be an (N, K) f32 CPU tensor");
  refuse([](train::LogitsFile& f) { f.logits = f.logits.to(DType::F64); }, "must be an (N, K) f32 CPU tensor, got f64");
  refuse([](train::LogitsFile& f) { f.logits = f.logits.reshape({6}); }, "must be an (N, K) f32 CPU tensor");
  refuse([](train::LogitsFile& f) { f.document_ids.pop_back(); }, "\"logits\" has 3 rows but there are 2");
  refuse([](train::LogitsFile& f) { f.labels.push_back("grain"); }, "\"logits\" has 2 columns but there are 3");
  refuse([](train::LogitsFile& f) { f.document_ids[2] = "test:1"; }, "\"document_ids\" has 'test:1' twice");
  refuse([](train::LogitsFile& f) { f.labels[1] = "earn"; }, "\"labels\" has 'earn' twice");
  refuse([](train::LogitsFile& f) { f.labels[1] = ""; }, "\"labels\" entry 1 is empty");
  refuse([](train::LogitsFile& f) { f.metadata["format"] = "mine"; }, "extra metadata key \"format\" is reserved");
  refuse([](train::LogitsFile& f) { f.document_ids[0] = "bad\xff"; }, "\"document_ids\" must be valid UTF-8");
  CHECK_FALSE(std::filesystem::exists(path));  // nothing was written
}

TEST_CASE("load_logits refuses anything but a valid logits file, naming the file and the field", "[predict]") {
  test::ScratchDir dir;
  const Tensor logits = Tensor::zeros({3, 2});
  const auto refuse = [&](const std::map<std::string, std::string>& metadata, const std::vector<NamedTensor>& tensors,
                          const std::string& message) {
    const std::string path = write_raw(dir, "bad.logits", tensors, metadata);
    CHECK_THROWS_WITH(train::load_logits(path), Contains(path) && Contains(message));
  };
  const auto with = [](const std::string& key, const std::string& value) {
    auto m = sample_metadata();
    m[key] = value;
    return m;
  };
  const auto without = [](const std::string& key) {
    auto m = sample_metadata();
    m.erase(key);
    return m;
  };
  const std::vector<NamedTensor> ok = {{"logits", logits}};
  // The sample metadata is valid: only the edits below make it fail.
  CHECK(train::load_logits(write_raw(dir, "good.logits", ok, sample_metadata())).document_ids.size() == 3);

  refuse({}, ok, "metadata field \"format\" is missing");
  refuse(with("format", "pt"), ok, "\"format\" is 'pt', expected 'docbert-logits'");
  refuse(without("version"), ok, "metadata field \"version\" is missing");
  refuse(with("version", "2"), ok, "\"version\" is '2'; this build reads version 1");
  refuse(with("problem_type", "regression"), ok, "metadata field \"problem_type\": unknown problem type 'regression'");
  refuse(without("labels"), ok, "metadata field \"labels\" is missing");
  refuse(with("labels", "[\"earn\","), ok, "metadata field \"labels\" is not valid JSON");
  refuse(with("labels", R"({"earn": 0})"), ok, "\"labels\" must be a JSON array of strings, got object");
  refuse(with("labels", R"(["earn", 1])"), ok, "\"labels\" entry 1 is a number, not a string");
  refuse(with("labels", "[]"), {{"logits", Tensor::zeros({3, 0})}}, "\"labels\" is empty");
  refuse(with("labels", R"(["earn","earn"])"), ok, "\"labels\" has 'earn' twice");
  refuse(with("document_ids", R"(["a","a","c"])"), ok, "\"document_ids\" has 'a' twice");
  refuse(without("document_ids"), ok, "metadata field \"document_ids\" is missing");
  // Shapes against the counts of ids and labels, the dtype, and the tensors present.
  refuse(with("document_ids", R"(["a","b"])"), ok, "\"logits\" is F32 (3,2), expected F32 (2,2)");
  refuse(with("labels", R"(["earn","acq","grain"])"), ok, "expected F32 (3,3)");
  refuse(sample_metadata(), {{"logits", logits.to(DType::F64)}}, "\"logits\" is F64 (3,2), expected F32 (3,2)");
  refuse(sample_metadata(), {{"logits", logits.reshape({6})}}, "\"logits\" is F32 (6), expected F32 (3,2)");
  refuse(sample_metadata(), {{"logits", logits}, {"labels", Tensor::zeros({2})}}, "unexpected tensor 'labels'");
  refuse(sample_metadata(), {{"scores", logits}}, "unexpected tensor 'scores'");

  // A file cut short, and one that is not there: the safetensors reader's errors, naming the file.
  const std::string good = dir.file("good.logits");
  const std::string bytes = read_file(good, "logits file");
  const std::string cut = dir.write("cut.logits", bytes.substr(0, bytes.size() - 5));
  CHECK_THROWS_WITH(train::load_logits(cut), Contains(cut));
  CHECK_THROWS_WITH(train::load_logits(dir.file("missing.logits")), Contains("missing.logits"));
}
