// The teacher's trainer end to end on real Reuters slices: an interrupted and resumed run equals an uninterrupted
// one, bad input fails before anything is overwritten, and a tiny random-init BERT learns more than the majority
// label.
#include "train/teacher/trainer.h"
#include "base/file_io.h"
#include "engine/tensor.h"
#include "tests/test_support.h"
#include "tests/train/tool_runs.h"
#include "train/common/checkpoint.h"
#include "train/common/metrics.h"
#include "train/common/train_loop.h"
#include "train/data/load_dataset.h"
#include "train/teacher/options.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>

using namespace docbert;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Parses `args` as train_teacher's command line and runs it quietly.
json run(const std::vector<std::string>& args) {
  return test::run_tool<train::TeacherOptions>(args, train::add_teacher_options, train::run_teacher);
}

const std::string& vocab() {
  static const std::string v = test::shared_data("vocab/bert-base-uncased/vocab.txt");
  return v;
}

// A small, fast Reuters run: the first train/eval documents, 32 tokens, tiny BERT.
std::vector<std::string> small_run(const std::string& out_dir) {
  return {"--data",
          test::shared_data("reuters21578"),
          "--arch",
          "tiny",
          "--vocab",
          vocab(),
          "--max-train-docs",
          "48",
          "--max-eval-docs",
          "24",
          "--max-seq-length",
          "32",
          "--batch-size",
          "8",
          "--epochs",
          "2",
          "--lr",
          "1e-3",
          "--log-every",
          "1",
          "--no-progress",
          "--output-dir",
          out_dir};
}

// args with flag set to value (replaced when present, appended otherwise: CLI11 refuses a repeated option).
std::vector<std::string> with(std::vector<std::string> args, const std::string& flag, const std::string& value) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) {
      args[i + 1] = value;
      return args;
    }
  args.push_back(flag);
  args.push_back(value);
  return args;
}

}  // namespace

TEST_CASE("a resumed run equals an uninterrupted one, mid-epoch and at an epoch's end", "[trainer][resume]") {
  test::ScratchDir dir;
  const std::string full = dir.file("full"), cut = dir.file("cut");
  std::vector<std::string> extra = {"--grad-accum-steps", "2"};
  auto args = [&](const std::string& out) {
    auto a = small_run(out);
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const json r_full = run(args(full));

  // 48 documents, batch 8, 2 micro-batches per step: 3 steps per epoch. Stop mid-epoch 1 (step 2) and at the end
  // of epoch 1 (step 3), resume each time.
  auto stop_at = [&](int step) {
    auto a = args(cut);
    a.insert(a.end(), {"--stop-after-steps", std::to_string(step), "--resume", "auto"});
    return run(a);
  };
  CHECK(stop_at(2).at("interrupted_at_step") == 2);
  CHECK(train::list_checkpoints(cut).back().first == 2);
  // A killed save leaves a .tmp folder: resume ignores it.
  fs::create_directories(cut + "/checkpoint-99.tmp");
  CHECK(stop_at(3).at("interrupted_at_step") == 3);
  auto a = args(cut);
  a.insert(a.end(), {"--resume", "auto"});
  const json r_cut = run(a);

  const auto full_log = test::log_records(full), cut_log = test::log_records(cut);
  REQUIRE(full_log.size() == cut_log.size());
  for (size_t i = 0; i < full_log.size(); ++i) {
    INFO("record " << i << ": " << full_log[i].dump() << " vs " << cut_log[i].dump());
    CHECK(full_log[i] == cut_log[i]);  // losses, lr, grad norms, dev metrics: bit for bit
  }
  CHECK(read_file(full + "/best/model.safetensors", "model") == read_file(cut + "/best/model.safetensors", "model"));
  CHECK(r_full.at("test") == r_cut.at("test"));
  CHECK(r_full.at("dev") == r_cut.at("dev"));
  CHECK_FALSE(fs::exists(cut + "/checkpoint-99.tmp"));
}

TEST_CASE("resuming with a setting that changes the result is refused", "[trainer][resume]") {
  test::ScratchDir dir;
  auto a = small_run(dir.file("run"));
  a.insert(a.end(), {"--stop-after-steps", "2"});
  run(a);
  // The same value spelled differently is the same setting.
  run(with(with(with(small_run(dir.file("run")), "--resume", "auto"), "--lr", "0.001"), "--stop-after-steps", "3"));
  const auto b = with(with(small_run(dir.file("run")), "--resume", "auto"), "--lr", "5e-4");
  CHECK_THROWS_WITH(run(b), Catch::Contains("cannot resume with different settings") &&
                                Catch::Contains("--lr: checkpoint '0.001', now '5e-4'"));
}

TEST_CASE("a model whose dev loss is not finite is never the best", "[trainer][diverge]") {
  train::TrainState st;
  const json m = {{"accuracy", 0.5}, {"micro_f1", 0.5}, {"loss", 0.7}};
  CHECK(train::improves(st, m, ProblemType::MultiLabel));
  for (double loss : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    json bad = m;
    bad["loss"] = loss;
    CHECK_FALSE(train::improves(st, bad, ProblemType::MultiLabel));
    CHECK_FALSE(train::improves(st, bad, ProblemType::SingleLabel));
  }
  st.best = 0.6;
  CHECK_FALSE(train::improves(st, m, ProblemType::MultiLabel));
}

TEST_CASE("a trainer state written before the divergence fields existed still loads", "[trainer][resume]") {
  json j = train::TrainState{};
  j["step"] = 7;
  for (const char* key : {"nonfinite_streak", "last_finite_step", "last_finite_loss"}) j.erase(key);
  const train::TrainState st = train::state_from_json(j, "trainer_state.json");
  CHECK(st.step == 7);
  CHECK(st.nonfinite_streak == 0);
  CHECK(st.last_finite_step == 0);
  CHECK_THROWS_WITH(train::state_from_json(json{{"step", "seven"}}, "x/trainer_state.json"),
                    Catch::Contains("x/trainer_state.json: bad trainer state"));
}

// --lr 1e6 on the small run: steps 1-4 update, from step 5 on every loss is NaN (6 steps per epoch).
TEST_CASE("a diverging run stops with an error, keeps its checkpoints and no NaN model", "[trainer][diverge]") {
  test::ScratchDir dir;
  const std::string out = dir.file("run");
  const auto diverging = with(small_run(out), "--lr", "1e6");

  SECTION("--max-nonfinite-steps 3: the third skipped step in a row ends the run") {
    CHECK_THROWS_WITH(run(with(diverging, "--max-nonfinite-steps", "3")),
                      Catch::Contains("step 7: the loss or its gradient was not finite for 3 steps in a row") &&
                          Catch::Contains("the last finite loss was") && Catch::Contains("at step 4") &&
                          Catch::Contains("the last checkpoint is " + out + "/checkpoint-6") &&
                          Catch::Contains("Try a lower --lr (this run: 1e+06)") && Catch::Contains("--max-grad-norm"));
    // Epoch 1's dev loss was NaN: nothing became best/, and nothing was scored.
    CHECK_FALSE(fs::exists(out + "/best"));
    CHECK_FALSE(fs::exists(out + "/results.json"));
    // The checkpoint at epoch 1's end stays; the diverged state at step 7 is not saved.
    const auto checkpoints = train::list_checkpoints(out);
    REQUIRE(checkpoints.size() == 1);
    CHECK(checkpoints[0].first == 6);
    // The log records every step, the skipped ones with a null loss and the running count.
    std::vector<json> train_records;
    for (const json& r : test::log_records(out))
      if (r.at("split") == "train") train_records.push_back(r);
    REQUIRE(train_records.size() == 7);
    for (int64_t i = 0; i < 7; ++i) {
      INFO(train_records[static_cast<size_t>(i)].dump());
      CHECK(train_records[static_cast<size_t>(i)].at("step") == i + 1);
      CHECK(train_records[static_cast<size_t>(i)].at("skipped_steps") == std::max<int64_t>(0, i - 3));
      CHECK(train_records[static_cast<size_t>(i)].at("loss").is_null() == (i >= 4));
    }
  }
  SECTION("--max-nonfinite-steps 0: the run goes on, and without a finite evaluation it fails at the end") {
    CHECK_THROWS_WITH(run(with(diverging, "--max-nonfinite-steps", "0")),
                      Catch::Contains("no dev evaluation had a finite loss (2 evaluations, 8 of 12 steps skipped") &&
                          Catch::Contains("no model was kept as best/") && Catch::Contains("Try a lower --lr"));
    CHECK_FALSE(fs::exists(out + "/best"));
    CHECK_FALSE(fs::exists(out + "/results.json"));
    CHECK(train::list_checkpoints(out).back().first == 12);
  }
}

// The majority-label baseline's micro-F1: the most frequent label among the first `n_train` training documents,
// predicted for each of the first `n_dev` dev documents (single-label: it is the accuracy).
static double majority_baseline(const data::Dataset& ds, int64_t n_train, int64_t n_dev) {
  std::map<int32_t, int64_t> counts;
  int64_t n = 0;
  for (const data::Document* d : ds.split(data::Split::Train)) {
    if (n++ == n_train) break;
    for (int32_t l : d->labels) ++counts[l];
  }
  int32_t majority = counts.begin()->first;
  for (const auto& [l, c] : counts)
    if (c > counts[majority]) majority = l;
  std::vector<std::vector<int32_t>> gold;
  for (const data::Document* d : ds.split(data::Split::Dev)) {
    if (static_cast<int64_t>(gold.size()) == n_dev) break;
    gold.push_back(d->labels);
  }
  Tensor logits = Tensor::full({static_cast<int64_t>(gold.size()), ds.num_labels()}, -1.0);
  for (int64_t i = 0; i < logits.size(0); ++i) logits.data<float>()[i * ds.num_labels() + majority] = 1;
  return train::classification_metrics(logits, gold, ds.problem_type).micro_f1;
}

// The end-to-end run is hidden from CTest discovery ("[.") and run by its own CTest entry (label "e2e"), outside the
// sanitizer pass. R8 is the Reuters-21578 slice of the 8 most frequent single-label topics; a random-init tiny BERT
// does not get past the label priors on a Reuters-90 slice in CI time (docs/training.md), so the multi-label run
// fine-tunes the pretrained MiniLM, as the first step of tests/train/distill.cpp's end-to-end distillation.
TEST_CASE("a tiny BERT trained on R8 beats the majority label on dev", "[.e2e]") {
  test::ScratchDir dir;
  const std::string out = dir.file("run");
  const json r = run({"--data",
                      test::shared_data("r8-r52"),
                      "--format",
                      "r8",
                      "--arch",
                      "tiny",
                      "--vocab",
                      vocab(),
                      "--max-train-docs",
                      "1000",
                      "--max-eval-docs",
                      "400",
                      "--max-seq-length",
                      "64",
                      "--batch-size",
                      "16",
                      "--epochs",
                      "6",
                      "--lr",
                      "5e-4",
                      "--no-progress",
                      "--output-dir",
                      out});
  const data::Dataset ds = data::load_dataset(test::shared_data("r8-r52"), data::Format::R8, {});
  const double baseline = majority_baseline(ds, 1000, 400);
  const double f1 = r.at("dev").at("micro_f1").get<double>();
  INFO("dev micro-F1 " << f1 << ", majority baseline " << baseline);
  CHECK(baseline > 0.4);
  CHECK(f1 > baseline + 0.1);
  // Every output of a run is there.
  for (const char* f : {"best/config.json", "best/model.safetensors", "best/vocab.txt", "best/tokenizer_config.json",
                        "metrics.jsonl", "results.json", "curves.svg", "config.toml"})
    CHECK(fs::exists(out + "/" + f));
  CHECK(r.at("test").at("documents") == 400);
  CHECK(r.at("params").get<int64_t>() > 4000000);
}

TEST_CASE("bad input fails clearly and overwrites nothing", "[trainer][bad-input]") {
  test::ScratchDir dir;
  const std::string out = dir.file("run");
  const auto a = with(with(small_run(out), "--epochs", "1"), "--max-train-docs", "16");
  run(a);
  const std::string results = read_file(out + "/results.json", "results");

  SECTION("a second run into the same folder") {
    CHECK_THROWS_WITH(run(a), Catch::Contains("already holds a run") && Catch::Contains("--resume auto"));
    CHECK(read_file(out + "/results.json", "results") == results);
  }
  SECTION("an output folder under a file") {
    auto b = small_run(dir.file("run/results.json/sub"));
    CHECK_THROWS_WITH(run(b), Catch::Contains("cannot create it"));
  }
  SECTION("a missing model folder") {
    CHECK_THROWS_WITH(run({"--data", test::shared_data("reuters21578"), "--model", dir.file("nowhere"), "--output-dir",
                           dir.file("other")}),
                      Catch::Contains(dir.file("nowhere")));
  }
  SECTION("a vocabulary that does not match the checkpoint's config") {
    const std::string model = dir.file("model");
    fs::create_directories(model);
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(out + "/best/" + f, model + "/" + f);
    dir.write("model/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n");
    CHECK_THROWS_WITH(run({"--data", test::shared_data("reuters21578"), "--model", model, "--eval-only", "--output-dir",
                           dir.file("eval")}),
                      Catch::Contains("vocab.txt has 6 tokens but config.json's vocab_size is 30522"));
  }
  SECTION("a saved teacher whose labels are not the dataset's") {
    CHECK_THROWS_WITH(run({"--data", test::shared_data("r8-r52"), "--format", "r8", "--model", out + "/best",
                           "--eval-only", "--output-dir", dir.file("eval")}),
                      Catch::Contains("is multi_label_classification but the dataset is single_label_classification"));
  }
  SECTION("a saved teacher that does not know the dataset's labels") {
    for (const char* split : {"train", "dev", "test"})
      dir.write(std::string("other-labels/") + split + ".jsonl",
                R"({"text": "wheat exports fell", "labels": ["grain", "weather"]})"
                "\n"
                R"({"text": "the bank raised rates", "labels": ["interest", "politics"]})"
                "\n");
    CHECK_THROWS_WITH(run({"--data", dir.file("other-labels"), "--format", "jsonl", "--problem-type", "multi",
                           "--model", out + "/best", "--eval-only", "--output-dir", dir.file("eval")}),
                      Catch::Contains("the model does not know 2 label(s) of the dataset: politics, weather"));
  }
  SECTION("--eval-only of the best model reproduces the run's scores") {
    const json r = run({"--data", test::shared_data("reuters21578"), "--model", out + "/best", "--eval-only",
                        "--max-eval-docs", "24", "--max-seq-length", "32", "--output-dir", dir.file("eval")});
    CHECK(r.at("dev") == json::parse(results).at("dev"));
  }
}
