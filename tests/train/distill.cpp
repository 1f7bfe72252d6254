// distill_student's pieces end to end on real Reuters slices: the soft-target cache (hits, and every way a cached
// file can be stale or damaged), logits files from elsewhere, an interrupted and resumed distillation that equals an
// uninterrupted one, bad input, and (hidden, run by its own CTest entry) distillation from a fine-tuned MiniLM beating
// the same student trained on the labels alone.
#include "base/file_io.h"
#include "engine/tensor.h"
#include "models/bert/classifier.h"
#include "tests/test_support.h"
#include "tests/train/tool_runs.h"
#include "tokenizer/wordpiece.h"
#include "train/common/checkpoint.h"
#include "train/common/logits_file.h"
#include "train/data/load_dataset.h"
#include "train/student/options.h"
#include "train/student/soft_targets.h"
#include "train/student/trainer.h"
#include "train/teacher/model_dir.h"
#include "train/teacher/options.h"
#include "train/teacher/trainer.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

using namespace docbert;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string& vocab() {
  static const std::string v = test::shared_data("vocab/bert-base-uncased/vocab.txt");
  return v;
}

const data::Dataset& reuters() {
  static const data::Dataset ds = data::load_dataset(test::shared_data("reuters21578"), data::Format::Auto, {});
  return ds;
}

// A random-init tiny BERT teacher over Reuters' 90 labels, saved as train_teacher saves best/.
void make_teacher(const std::string& dir, uint64_t seed) {
  const tok::WordPiece tokenizer = tok::WordPiece::from_vocab(vocab());
  const bert::BertClassifier model(bert::BertConfig::preset("tiny", tokenizer.vocab_size()), reuters().num_labels(),
                                   reuters().problem_type, reuters().label_names, seed);
  train::save_model_dir(model, tokenizer, read_file(vocab(), "vocab"), 32, dir);
}

// The first n training documents' ids and texts.
void first_docs(size_t n, std::vector<std::string>& ids, std::vector<std::string>& texts) {
  ids.clear();
  texts.clear();
  for (const data::Document* d : reuters().split(data::Split::Train)) {
    if (ids.size() == n) break;
    ids.push_back(d->id);
    texts.push_back(d->text);
  }
}

train::SoftTargets soft(const train::SoftTargetOptions& o, const std::vector<std::string>& ids,
                        const std::vector<std::string>& texts, std::string* printed = nullptr) {
  std::FILE* out = std::tmpfile();
  const train::SoftTargets st =
      train::teacher_soft_targets(o, ids, texts, reuters().label_names, reuters().problem_type, out, false);
  if (printed != nullptr) {
    std::rewind(out);
    printed->clear();
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) printed->append(buf, n);
  }
  std::fclose(out);
  return st;
}

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

json student(const std::vector<std::string>& args) {
  return test::run_tool<train::StudentOptions>(args, train::add_student_options, train::run_student);
}

json teacher(const std::vector<std::string>& args) {
  return test::run_tool<train::TeacherOptions>(args, train::add_teacher_options, train::run_teacher);
}

}  // namespace

TEST_CASE("soft targets: computed once, then read from the cache; any stale or damaged file is recomputed",
          "[distill][cache]") {
  test::ScratchDir dir;
  make_teacher(dir.file("teacher"), 1);
  train::SoftTargetOptions o;
  o.teacher_dir = dir.file("teacher");
  o.cache_dir = dir.file("cache");
  std::vector<std::string> ids, texts;
  first_docs(12, ids, texts);

  std::string printed;
  const train::SoftTargets first = soft(o, ids, texts, &printed);
  CHECK_FALSE(first.from_cache);
  CHECK(first.logits.shape() == Shape{12, 90});
  CHECK(fs::exists(first.path));
  const train::SoftTargets again = soft(o, ids, texts, &printed);
  CHECK(again.from_cache);
  CHECK(again.path == first.path);
  CHECK(values(again.logits) == values(first.logits));
  CHECK_THAT(printed, Catch::Contains("from the cache"));

  SECTION("another transfer set (one text changed) gets its own key") {
    texts[5] += " [MASK]";
    const train::SoftTargets other = soft(o, ids, texts);
    CHECK_FALSE(other.from_cache);
    CHECK(other.key != first.key);
  }
  SECTION("another teacher in the same folder gets its own key and its own logits") {
    make_teacher(dir.file("teacher"), 2);
    const train::SoftTargets other = soft(o, ids, texts);
    CHECK_FALSE(other.from_cache);
    CHECK(other.key != first.key);
    CHECK(values(other.logits) != values(first.logits));
  }
  SECTION("another teacher input length gets its own key") {
    o.max_seq_length = 16;
    CHECK(soft(o, ids, texts).key != first.key);
  }
  SECTION("a damaged logits value is caught by the checksum and recomputed") {
    std::string bytes = read_file(first.path, "cache");
    bytes[bytes.size() - 3] ^= 0x40;  // inside the last logit
    write_file_atomic(first.path, bytes, "cache");
    const train::SoftTargets redone = soft(o, ids, texts, &printed);
    CHECK_FALSE(redone.from_cache);
    CHECK_THAT(printed, Catch::Contains("cannot be used") && Catch::Contains("logits checksum"));
    CHECK(values(redone.logits) == values(first.logits));
    CHECK(soft(o, ids, texts).from_cache);  // the rewritten file is good again
  }
  SECTION("a truncated file is recomputed") {
    const std::string bytes = read_file(first.path, "cache");
    write_file_atomic(first.path, bytes.substr(0, bytes.size() / 2), "cache");
    const train::SoftTargets redone = soft(o, ids, texts, &printed);
    CHECK_FALSE(redone.from_cache);
    CHECK_THAT(printed, Catch::Contains("cannot be used"));
  }
  SECTION("another run's file under this key is recomputed, not used") {
    std::vector<std::string> ids2 = ids, texts2 = texts;
    texts2[0] = "different words entirely";
    const train::SoftTargets other = soft(o, ids2, texts2);
    fs::copy_file(other.path, first.path, fs::copy_options::overwrite_existing);
    const train::SoftTargets redone = soft(o, ids, texts, &printed);
    CHECK_FALSE(redone.from_cache);
    CHECK_THAT(printed, Catch::Contains("transfer_checksum"));
    CHECK(values(redone.logits) == values(first.logits));
  }
  SECTION("a logits file from elsewhere is matched by document id and label name") {
    train::LogitsFile f = train::load_logits(first.path);
    // Reverse the rows and keep them as the file's order: the reader must put them back.
    std::vector<std::string> rev_ids(f.document_ids.rbegin(), f.document_ids.rend());
    const int64_t k = 90;
    Tensor rev = Tensor::zeros({12, k});
    for (int64_t i = 0; i < 12; ++i) std::copy_n(f.logits.data<float>() + (11 - i) * k, k, rev.data<float>() + i * k);
    f.logits = rev;
    f.document_ids = rev_ids;
    f.metadata.clear();
    train::save_logits(dir.file("elsewhere.safetensors"), f);
    const Tensor read = train::soft_targets_from_file(dir.file("elsewhere.safetensors"), ids, reuters().label_names,
                                                      reuters().problem_type);
    CHECK(values(read) == values(first.logits));
    std::vector<std::string> missing = ids;
    missing[3] = "reuters-nowhere";
    CHECK_THROWS_WITH(train::soft_targets_from_file(dir.file("elsewhere.safetensors"), missing, reuters().label_names,
                                                    reuters().problem_type),
                      Catch::Contains("no logits for transfer document 'reuters-nowhere'"));
    CHECK_THROWS_WITH(train::soft_targets_from_file(dir.file("elsewhere.safetensors"), ids, reuters().label_names,
                                                    ProblemType::SingleLabel),
                      Catch::Contains("the logits are multi_label_classification"));
  }
}

// A small distillation from a random tiny teacher: 48 documents + 1 augmented copy each, batch 16: 6 steps per epoch.
std::vector<std::string> small_distill(const std::string& teacher_dir, const std::string& cache,
                                       const std::string& out) {
  return {"--data",
          test::shared_data("reuters21578"),
          "--teacher",
          teacher_dir,
          "--cache-dir",
          cache,
          "--max-train-docs",
          "48",
          "--max-eval-docs",
          "24",
          "--augment-copies",
          "1",
          "--hidden",
          "8",
          "--embed-dim",
          "8",
          "--max-tokens",
          "40",
          "--batch-size",
          "16",
          "--epochs",
          "2",
          "--log-every",
          "1",
          "--no-progress",
          "--output-dir",
          out};
}

TEST_CASE("distill_student: a resumed run equals an uninterrupted one", "[distill][resume]") {
  test::ScratchDir dir;
  make_teacher(dir.file("teacher"), 1);
  const std::string full = dir.file("full"), cut = dir.file("cut");
  const json r_full = student(small_distill(dir.file("teacher"), dir.file("cache"), full));
  CHECK(r_full.at("transfer_documents") == 96);
  CHECK(r_full.at("distill_weight") == 1.0);
  CHECK(r_full.at("distill_reduction") == "mean");  // auto, multi-label
  CHECK(r_full.at("batch_size") == 16);
  for (const char* f : {"best/config.json", "best/model.safetensors", "best/vocab.txt", "best/student_tokenizer.json",
                        "transfer/transfer.jsonl", "transfer/provenance.json", "metrics.jsonl", "results.json",
                        "curves.svg", "config.toml"})
    CHECK(fs::exists(full + "/" + f));

  auto stop_at = [&](int step) {
    auto a = small_distill(dir.file("teacher"), dir.file("cache"), cut);
    a.insert(a.end(), {"--stop-after-steps", std::to_string(step), "--resume", "auto"});
    return student(a);
  };
  CHECK(stop_at(4).at("interrupted_at_step") == 4);  // mid-epoch 1
  CHECK(stop_at(6).at("interrupted_at_step") == 6);  // epoch 1's end
  auto a = small_distill(dir.file("teacher"), dir.file("cache"), cut);
  a.insert(a.end(), {"--resume", "auto"});
  const json r_cut = student(a);

  const auto full_log = test::log_records(full), cut_log = test::log_records(cut);
  REQUIRE(full_log.size() == cut_log.size());
  for (size_t i = 0; i < full_log.size(); ++i) {
    INFO("record " << i << ": " << full_log[i].dump() << " vs " << cut_log[i].dump());
    CHECK(full_log[i] == cut_log[i]);
  }
  CHECK(full_log.front().contains("distill_loss"));
  CHECK(read_file(full + "/best/model.safetensors", "model") == read_file(cut + "/best/model.safetensors", "model"));
  CHECK(r_full.at("test") == r_cut.at("test"));

  SECTION("a changed distillation setting is refused on resume") {
    auto b = small_distill(dir.file("teacher"), dir.file("cache"), cut);
    b.insert(b.end(), {"--resume", "auto", "--temperature", "2"});
    fs::remove(cut + "/results.json");
    CHECK_THROWS_WITH(student(b), Catch::Contains("--temperature: checkpoint '1', now '2'"));
  }
}

TEST_CASE("distill_student: without a teacher it is LSTM_reg at batch 32 on the training documents alone",
          "[distill]") {
  test::ScratchDir dir;
  const json r =
      student({"--data", test::shared_data("reuters21578"), "--max-train-docs", "40", "--max-eval-docs", "16",
               "--hidden", "8", "--embed-dim", "8", "--epochs", "1", "--no-progress", "--output-dir", dir.file("run")});
  CHECK(r.at("transfer_documents") == 40);
  CHECK(r.at("distill_weight") == 0.0);
  CHECK(r.at("batch_size") == 32);
  CHECK(r.at("soft_targets").is_null());
  CHECK(r.at("steps") == 2);
}

// --lr 1e300: the first Adam step sends the weights to infinity and every later loss is NaN (3 steps per epoch).
TEST_CASE("distill_student: a diverging run stops with an error, keeps its checkpoints and no NaN model",
          "[distill][diverge]") {
  test::ScratchDir dir;
  const std::string out = dir.file("run");
  CHECK_THROWS_WITH(student({"--data",
                             test::shared_data("reuters21578"),
                             "--max-train-docs",
                             "48",
                             "--max-eval-docs",
                             "24",
                             "--hidden",
                             "8",
                             "--embed-dim",
                             "8",
                             "--max-tokens",
                             "40",
                             "--batch-size",
                             "16",
                             "--epochs",
                             "2",
                             "--log-every",
                             "1",
                             "--lr",
                             "1e300",
                             "--max-nonfinite-steps",
                             "3",
                             "--no-progress",
                             "--output-dir",
                             out}),
                    Catch::Contains("step 4: the loss or its gradient was not finite for 3 steps in a row") &&
                        Catch::Contains("at step 1") &&
                        Catch::Contains("the last checkpoint is " + out + "/checkpoint-3") &&
                        Catch::Contains("Try a lower --lr (this run: 1e+300)"));
  // Epoch 1's dev loss (the averaged weights') was NaN: nothing became best/, and nothing was scored.
  CHECK_FALSE(fs::exists(out + "/best"));
  CHECK_FALSE(fs::exists(out + "/results.json"));
  const auto checkpoints = train::list_checkpoints(out);
  REQUIRE(checkpoints.size() == 1);
  CHECK(checkpoints[0].first == 3);
  std::vector<json> train_records;
  for (const json& r : test::log_records(out))
    if (r.at("split") == "train") train_records.push_back(r);
  REQUIRE(train_records.size() == 4);
  for (int64_t i = 0; i < 4; ++i) {
    INFO(train_records[static_cast<size_t>(i)].dump());
    CHECK(train_records[static_cast<size_t>(i)].at("step") == i + 1);
    CHECK(train_records[static_cast<size_t>(i)].at("skipped_steps") == i);
    CHECK(train_records[static_cast<size_t>(i)].at("loss").is_null() == (i >= 1));
  }
}

TEST_CASE("distill_student: bad input fails clearly", "[distill][bad-input]") {
  test::ScratchDir dir;
  make_teacher(dir.file("teacher"), 1);
  const std::string data = test::shared_data("reuters21578");
  SECTION("a teacher for another dataset") {
    CHECK_THROWS_WITH(student({"--data", test::shared_data("r8-r52"), "--format", "r8", "--teacher",
                               dir.file("teacher"), "--cache-dir", dir.file("cache"), "--max-train-docs", "8",
                               "--hidden", "8", "--embed-dim", "8", "--output-dir", dir.file("run")}),
                      Catch::Contains("the teacher is multi_label_classification but the dataset is "
                                      "single_label_classification"));
  }
  SECTION("a missing teacher folder") {
    CHECK_THROWS_WITH(student({"--data", data, "--teacher", dir.file("nowhere"), "--cache-dir", dir.file("cache"),
                               "--max-train-docs", "8", "--output-dir", dir.file("run")}),
                      Catch::Contains(dir.file("nowhere")));
  }
  SECTION("a missing WordNet") {
    CHECK_THROWS_WITH(student({"--data", data, "--augment-copies", "1", "--wordnet", dir.file("nowhere"),
                               "--max-train-docs", "8", "--output-dir", dir.file("run")}),
                      Catch::Contains(dir.file("nowhere")));
  }
  SECTION("option combinations") {
    CHECK_THROWS_WITH(student({"--data", data, "--distill-weight", "2"}), Catch::Contains("needs --teacher"));
    CHECK_THROWS_WITH(student({"--data", data, "--embeddings", "word2vec"}), Catch::Contains("--word-vectors"));
    CHECK_THROWS_WITH(student({"--data", data, "--embeddings", "teacher"}), Catch::Contains("needs --teacher"));
    CHECK_THROWS_WITH(student({"--data", data, "--teacher", "a", "--soft-targets", "b"}),
                      Catch::Contains("at most one of --teacher and --soft-targets"));
  }
}

// Hidden from discovery, run by its CTest entry (label e2e; skipped without the MiniLM weights). The paper's
// comparison on a slice: the teacher fine-tuned on 400 Reuters documents, then one student trained on the labels of
// those documents and one distilled from the teacher over them and 2 augmented copies each. The teacher must beat the
// majority label, and the distilled student the undistilled one. Both students take batch 16: at the recipes' 32 and
// 128 a 400-document slice gives 130 and 100 steps in 10 epochs, too few for the 0.99 weight average to leave its
// random start.
TEST_CASE("distillation from a fine-tuned MiniLM beats the same student without it on a Reuters slice",
          "[.e2e-pretrained]") {
  test::ScratchDir dir;
  const std::string data = test::shared_data("reuters21578");
  const json t = teacher({"--data",
                          data,
                          "--model",
                          test::pretrained_dir(),
                          "--max-train-docs",
                          "400",
                          "--max-eval-docs",
                          "300",
                          "--max-seq-length",
                          "64",
                          "--epochs",
                          "3",
                          "--lr",
                          "1e-4",
                          "--adam-eps",
                          "1e-8",
                          "--head-bias-init",
                          "prior",
                          "--no-progress",
                          "--output-dir",
                          dir.file("teacher")});
  const double teacher_f1 = t.at("test").at("micro_f1").get<double>();
  const std::vector<std::string> common = {"--data",   data, "--max-train-docs", "400", "--max-eval-docs", "300",
                                           "--hidden", "64", "--embed-dim",      "64",  "--max-tokens",    "128",
                                           "--epochs", "10", "--batch-size",     "16",  "--no-progress"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const json base = student(with({"--output-dir", dir.file("lstm")}));
  const json kd = student(
      with({"--teacher", dir.file("teacher/best"), "--cache-dir", dir.file("cache"), "--output-dir", dir.file("kd")}));
  const double base_f1 = base.at("test").at("micro_f1").get<double>();
  const double kd_f1 = kd.at("test").at("micro_f1").get<double>();
  INFO("test micro-F1: teacher " << teacher_f1 << ", LSTM_reg " << base_f1 << ", KD-LSTM_reg " << kd_f1);
  CHECK(teacher_f1 > 0.45);
  // Logged (2026-11-26): teacher 0.63; with the full-data teacher of docs/results.md standing in, LSTM_reg 0.00 (on
  // 400 documents it never leaves the "no label" prior) and KD-LSTM_reg 0.52.
  CHECK(kd_f1 > 0.25);
  CHECK(kd_f1 > base_f1 + 0.1);
}
