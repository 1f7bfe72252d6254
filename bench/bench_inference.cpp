// bench_inference: DocBERT's inference comparison (issue 5, item 7). Documents per second of the BERT teacher and
// the LSTM_reg student on the same documents, the Reuters test set (DocBERT's split, 3,019 documents), at batch 128
// and batch 1 on the CPU, plus both parameter counts and the ratios. DocBERT claims the student has >= 30x fewer
// parameters and runs >= 40x faster than BERT-base.
//
//   bench_inference                                   # random-init BERT-base and LSTM_reg, 2 threads, 60 s a row
//   bench_inference --teacher runs/teacher/best --student runs/student/best --json inference.json
//
// What is timed: the model alone. Documents are encoded once up front (teacher: WordPiece, [CLS] ... [SEP], at most
// --max-seq-length ids; student: its encoder), and the encoding rate is printed on its own line. Each (model, batch
// size) row then runs the production inference path (predict_logits / predict_student_logits: eval mode, no graph)
// batch by batch over the batches docbert_predict would run (the documents sorted longest first and cut into
// batches, so a batch carries little padding), visited in a fixed shuffled order: whenever --max-seconds stops a row
// early, the batches done are a uniform sample of the whole set's and their rate estimates the whole set's. A row
// starts with one untimed warm-up batch (the shortest documents') and always times at least one batch, so a slow row
// (the teacher at batch 128 on two cores) can run past --max-seconds.
//
// Without --teacher / --student the models are randomly initialised: BERT-base over the bert-base-uncased vocabulary
// and hedwig's LSTM_reg (embed 300, hidden 512, bidirectional) over a word vocabulary of the Reuters training split,
// both with the dataset's 90 labels. Their speed does not depend on the weights' values.
#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "models/bert/classifier.h"
#include "models/lstm_reg/lstm_reg.h"
#include "tokenizer/wordpiece.h"
#include "train/data/batching.h"
#include "train/data/load_dataset.h"
#include "train/student/encoder.h"
#include "train/student/inference.h"
#include "train/student/model_dir.h"
#include "train/teacher/inference.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

using namespace docbert;
namespace fs = std::filesystem;
using nlohmann::json;
using Docs = std::vector<std::vector<int32_t>>;

namespace {

const std::string kShared = DOCBERT_SOURCE_DIR "/../shared/data";

struct Args {
  std::string data = kShared + "/reuters21578";
  std::string teacher, teacher_vocab = kShared + "/vocab/bert-base-uncased/vocab.txt", teacher_preset = "base";
  std::string student, student_tokenizer = "word", json_path;
  std::string teacher_results, student_results;  // the trainers' results.json, for the summary table
  int64_t max_seq_length = 0, max_docs = 0;
  std::vector<int64_t> batch_sizes = {128, 1};
  double max_seconds = 60;
  int threads = 2;
};

// One (model, batch size) measurement.
struct Row {
  std::string model;
  int64_t batch_size = 0, docs = 0, batches = 0;
  double seconds = 0;
  double docs_per_s() const { return static_cast<double>(docs) / seconds; }
};

// A model under test: its encoded documents and its inference call on a list of them.
struct Subject {
  std::string name, description;
  Docs docs;
  double encode_seconds = 0;
  std::function<void(const Docs& docs, int64_t batch_size)> predict;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The documents of `batch`, for the inference call (which re-plans them as one batch).
Docs gather(const Docs& docs, const std::vector<int64_t>& batch) {
  Docs out;
  for (int64_t i : batch) out.push_back(docs[static_cast<size_t>(i)]);
  return out;
}

// Times s.predict over the length-sorted batches of s.docs in a fixed shuffled order (see the top of this file).
Row time_row(const Subject& s, int64_t batch_size, double max_seconds) {
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = batch_size;
  plan_options.order = data::BatchOrder::ByLength;
  const std::vector<std::vector<int64_t>> plan = data::plan_epoch(s.docs, /*epoch=*/0, plan_options);
  s.predict(gather(s.docs, plan.back()), batch_size);  // warm-up: the shortest documents
  std::vector<size_t> order(plan.size());
  std::iota(order.begin(), order.end(), size_t{0});
  seeded_shuffle(order, /*seed=*/0, /*offset=*/0);
  Row r{s.name, batch_size};
  const auto start = std::chrono::steady_clock::now();
  for (size_t b : order) {
    s.predict(gather(s.docs, plan[b]), batch_size);
    r.docs += static_cast<int64_t>(plan[b].size());
    ++r.batches;
    r.seconds = seconds_since(start);
    if (r.seconds >= max_seconds) break;
  }
  return r;
}

double mean_length(const Docs& docs) {
  double total = 0;
  for (const auto& d : docs) total += static_cast<double>(d.size());
  return total / static_cast<double>(docs.size());
}

// "12,345,678"
std::string grouped(int64_t n) {
  std::string s = std::to_string(n);
  for (auto i = static_cast<int64_t>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

int run(int argc, char** argv) {
  CLI::App app{
      "bench_inference: documents/s of the BERT teacher and the LSTM_reg student on the Reuters test set at batch "
      "128 and 1 on the CPU, with parameter counts and ratios (DocBERT's inference comparison)"};
  Args a;
  app.add_option("--data", a.data, "Reuters-21578 SGML folder")->capture_default_str();
  app.add_option("--teacher", a.teacher,
                 "Saved BERT classifier folder (config.json, model.safetensors, vocab.txt); default: a random-init "
                 "BERT of --teacher-preset over --teacher-vocab");
  app.add_option("--teacher-vocab", a.teacher_vocab, "WordPiece vocab.txt of the random-init teacher")
      ->capture_default_str();
  app.add_option("--teacher-preset", a.teacher_preset, "Size of the random-init teacher: tiny|mini|small|base|large")
      ->capture_default_str();
  app.add_option("--student", a.student,
                 "Saved student folder (distill_student's output); default: a random-init LSTM_reg (embed 300, hidden "
                 "512, bidirectional) over a word vocabulary of the training split");
  app.add_option("--student-tokenizer", a.student_tokenizer, "Tokenizer of the random-init student: word|word-hedwig")
      ->capture_default_str()
      ->check(CLI::IsMember({"word", "word-hedwig"}));
  app.add_option("--max-seq-length", a.max_seq_length,
                 "Teacher ids per document with [CLS] and [SEP] (0: a saved teacher's trained length, 512 for the "
                 "random-init one, DocBERT's)")
      ->capture_default_str();
  app.add_option("--batch-sizes", a.batch_sizes, "Batch sizes, one row per model each")
      ->capture_default_str()
      ->delimiter(',');
  app.add_option("--max-seconds", a.max_seconds, "Time budget of one row (checked after each batch)")
      ->capture_default_str();
  app.add_option("--max-docs", a.max_docs, "Use only the first N test documents (0: all)")->capture_default_str();
  app.add_option("--threads", a.threads, "CPU threads (0: all cores)")->capture_default_str();
  app.add_option("--json", a.json_path, "Also write the results to this JSON file");
  app.add_option("--teacher-results", a.teacher_results,
                 "train_teacher's results.json: adds a summary table of test micro-F1, parameters and docs/s");
  app.add_option("--student-results", a.student_results, "distill_student's results.json, for the summary table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    DOCBERT_THROW("{} (see --help)", e.what());
  }
  DOCBERT_CHECK(a.max_seconds > 0, "--max-seconds must be positive, got {}", a.max_seconds);
  DOCBERT_CHECK(a.max_docs >= 0, "--max-docs must not be negative (0: all), got {}", a.max_docs);
  DOCBERT_CHECK(a.threads >= 0, "--threads must not be negative (0: all cores), got {}", a.threads);
  DOCBERT_CHECK(!a.batch_sizes.empty(), "--batch-sizes must name at least one size");
  for (int64_t b : a.batch_sizes) DOCBERT_CHECK(b >= 1, "--batch-sizes: every size must be at least 1, got {}", b);
  set_num_threads(a.threads);

  const data::Dataset ds = data::load_dataset(a.data, data::Format::ReutersSgml, data::ReadOptions{});
  std::vector<std::string> texts;
  for (const data::Document* d : ds.split(data::Split::Test)) texts.push_back(d->text);
  if (a.max_docs > 0 && a.max_docs < static_cast<int64_t>(texts.size())) texts.resize(static_cast<size_t>(a.max_docs));
  DOCBERT_CHECK(!texts.empty(), "{}: no test documents", a.data);
  const auto k = static_cast<int64_t>(ds.label_names.size());
  const bool random_weights = a.teacher.empty() || a.student.empty();

  // The teacher.
  std::shared_ptr<const bert::BertClassifier> teacher;
  std::shared_ptr<const tok::WordPiece> wordpiece;
  std::string teacher_kind;
  if (!a.teacher.empty()) {
    teacher = std::make_shared<const bert::BertClassifier>(bert::BertClassifier::from_pretrained(a.teacher));
    wordpiece = std::make_shared<const tok::WordPiece>(tok::WordPiece::from_dir(a.teacher));
    teacher_kind = fmt::format("BERT from {}", a.teacher);
  } else {
    wordpiece = std::make_shared<const tok::WordPiece>(tok::WordPiece::from_vocab(a.teacher_vocab));
    teacher = std::make_shared<const bert::BertClassifier>(
        bert::BertConfig::preset(a.teacher_preset, wordpiece->vocab_size()), k, ds.problem_type, ds.label_names,
        /*seed=*/0);
    teacher_kind = fmt::format("BERT-{} (random init)", a.teacher_preset);
  }
  const int64_t max_positions = teacher->config().max_position_embeddings;
  if (a.max_seq_length == 0)
    a.max_seq_length = a.teacher.empty() ? std::min<int64_t>(512, max_positions)
                                         : train::trained_max_seq_length(a.teacher, max_positions);
  DOCBERT_CHECK(a.max_seq_length >= 2 && a.max_seq_length <= max_positions,
                "--max-seq-length {} must be between 2 and the teacher's max_position_embeddings {}", a.max_seq_length,
                max_positions);
  const bert::BertConfig& tc = teacher->config();
  Subject t{"teacher",
            fmt::format("{}: {} layers, hidden {}, {} heads, {} labels; WordPiece, at most {} ids", teacher_kind,
                        tc.num_hidden_layers, tc.hidden_size, tc.num_attention_heads, teacher->num_labels(),
                        a.max_seq_length),
            {},
            0,
            [teacher](const Docs& docs, int64_t batch_size) { train::predict_logits(*teacher, docs, batch_size); }};
  auto start = std::chrono::steady_clock::now();
  t.docs = train::encode_texts(*wordpiece, texts, static_cast<int>(a.max_seq_length), tok::Truncation::Head);
  t.encode_seconds = seconds_since(start);

  // The student.
  std::shared_ptr<const train::StudentModel> student;
  std::string student_kind;
  if (!a.student.empty()) {
    student = std::make_shared<const train::StudentModel>(train::load_student_dir(a.student));
    student_kind = fmt::format("LSTM_reg from {}", a.student);
  } else {
    train::StudentEncoder encoder = train::StudentEncoder::build_words(
        vocab_texts(ds, data::VocabSource::Train),
        a.student_tokenizer == "word" ? tok::WordTokenizerKind::Basic : tok::WordTokenizerKind::Hedwig, {},
        /*max_tokens=*/0);
    lstm_reg::LstmRegConfig c;  // hedwig's defaults
    c.vocab_size = encoder.vocab_size();
    c.num_labels = k;
    c.problem_type = ds.problem_type;
    c.labels = ds.label_names;
    c.pad_id = encoder.pad_id();
    student = std::make_shared<const train::StudentModel>(
        train::StudentModel{lstm_reg::LstmReg(c, /*seed=*/0), std::move(encoder)});
    student_kind = "LSTM_reg (random init)";
  }
  const lstm_reg::LstmRegConfig& sc = student->model.config();
  Subject s{"student",
            fmt::format("{}: embed {}, hidden {}, {}, {} labels; {} tokenizer, vocabulary {}, {}", student_kind,
                        sc.embed_dim, sc.hidden, sc.bidirectional ? "bidirectional" : "unidirectional", sc.num_labels,
                        student->encoder.kind_name(), grouped(student->encoder.vocab_size()),
                        student->encoder.max_tokens() > 0 ? fmt::format("at most {} ids", student->encoder.max_tokens())
                                                          : std::string("whole documents")),
            {},
            0,
            [student](const Docs& docs, int64_t batch_size) {
              train::predict_student_logits(student->model, docs, batch_size);
            }};
  start = std::chrono::steady_clock::now();
  s.docs = student->encoder.encode_all(texts);
  s.encode_seconds = seconds_since(start);

  const int64_t teacher_params = teacher->params().numel();
  const int64_t student_params = student->model.num_parameters(true);
  const int64_t student_params_lstm = student->model.num_parameters(false);
  const auto n = static_cast<int64_t>(texts.size());
  fmt::print("bench_inference: {} Reuters test documents ({}), CPU, {} threads, at most {} s a row\n", n,
             fs::path(a.data).lexically_normal().string(), num_threads(), a.max_seconds);
  if (random_weights) fmt::print("random weights where no folder was given: speed does not depend on their values\n");
  for (const Subject* m : {&t, &s}) {
    fmt::print("{}: {}\n", m->name, m->description);
    fmt::print("  {:.1f} ids per document on average; encoding (not timed below) {:.0f} docs/s\n", mean_length(m->docs),
               static_cast<double>(n) / m->encode_seconds);
  }
  fmt::print("parameters: teacher {}, student {} ({} without the embedding table, as DocBERT counts LSTM_reg)\n\n",
             grouped(teacher_params), grouped(student_params), grouped(student_params_lstm));

  std::vector<Row> rows;
  fmt::print("| model | batch | docs | seconds | docs/s |\n|---|---:|---:|---:|---:|\n");
  for (const Subject* m : {&s, &t}) {  // the student first: its rows are quick
    for (int64_t b : a.batch_sizes) {
      const Row& r = rows.emplace_back(time_row(*m, b, a.max_seconds));
      fmt::print("| {} | {} | {} | {:.2f} | {:.2f} |\n", r.model, r.batch_size, r.docs, r.seconds, r.docs_per_s());
      std::fflush(stdout);
    }
  }
  const auto rate = [&](const std::string& model, int64_t b) {
    for (const Row& r : rows)
      if (r.model == model && r.batch_size == b) return r.docs_per_s();
    return 0.0;
  };
  const double params_ratio = static_cast<double>(teacher_params) / static_cast<double>(student_params_lstm);
  const double params_ratio_all = static_cast<double>(teacher_params) / static_cast<double>(student_params);
  fmt::print("\nteacher / student parameters: {:.1f}x ({:.1f}x counting the student's embedding table)\n", params_ratio,
             params_ratio_all);
  json speedups = json::object();
  for (int64_t b : a.batch_sizes) {
    const double x = rate("student", b) / rate("teacher", b);
    fmt::print("student / teacher docs/s at batch {}: {:.1f}x\n", b, x);
    speedups[std::to_string(b)] = x;
  }

  if (!a.teacher_results.empty() || !a.student_results.empty()) {
    // The pipeline's final table: what each model scores and what it costs.
    const auto test_f1 = [](const std::string& path) {
      if (path.empty()) return std::string("-");
      const json r = parse_json_object(read_file(path, "results"), path);
      DOCBERT_CHECK(r.contains("test") && r["test"].is_object() && r["test"].contains("micro_f1"),
                    "{}: no test micro_f1 (a results.json of train_teacher or distill_student)", path);
      return fmt::format("{:.4f}", r["test"]["micro_f1"].get<double>());
    };
    fmt::print("\n| model | test micro-F1 | parameters |");
    for (int64_t b : a.batch_sizes) fmt::print(" docs/s, batch {} |", b);
    fmt::print("\n|---|---:|---:|");
    for (size_t i = 0; i < a.batch_sizes.size(); ++i) fmt::print("---:|");
    fmt::print("\n");
    for (const Subject* m : {&t, &s}) {
      const bool is_teacher = m == &t;
      fmt::print("| {} | {} | {} |", m->name, test_f1(is_teacher ? a.teacher_results : a.student_results),
                 is_teacher ? grouped(teacher_params)
                            : fmt::format("{} ({} with embeddings)", grouped(student_params_lstm),
                                          grouped(student_params)));
      for (int64_t b : a.batch_sizes) fmt::print(" {:.1f} |", rate(m->name, b));
      fmt::print("\n");
    }
  }

  if (!a.json_path.empty()) {
    json j = {{"documents", n},
              {"data", fs::path(a.data).lexically_normal().string()},
              {"threads", num_threads()},
              {"max_seconds", a.max_seconds},
              {"random_weights", random_weights},
              {"timed", "model only: documents encoded once up front, encoding rate reported separately"},
              {"parameters",
               {{"teacher", teacher_params},
                {"student", student_params},
                {"student_without_embeddings", student_params_lstm}}},
              {"parameter_ratio", params_ratio},
              {"parameter_ratio_with_student_embeddings", params_ratio_all},
              {"speedup_by_batch_size", speedups}};
    for (const Subject* m : {&t, &s})
      j["models"][m->name] = {{"description", m->description},
                              {"mean_ids_per_document", mean_length(m->docs)},
                              {"encode_docs_per_s", static_cast<double>(n) / m->encode_seconds}};
    for (const Row& r : rows)
      j["rows"].push_back({{"model", r.model},
                           {"batch_size", r.batch_size},
                           {"docs", r.docs},
                           {"batches", r.batches},
                           {"seconds", r.seconds},
                           {"docs_per_s", r.docs_per_s()}});
    write_file_atomic(a.json_path, j.dump(2) + "\n", "benchmark results");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("bench_inference", [&] { return run(argc, argv); });
}
