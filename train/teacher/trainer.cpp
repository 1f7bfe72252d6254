#include "train/teacher/trainer.h"

#include "base/error.h"
#include "base/file_io.h"
#include "engine/autograd.h"
#include "engine/optim.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "models/bert/classifier.h"
#include "tokenizer/wordpiece.h"
#include "train/common/metrics.h"
#include "train/common/progress.h"
#include "train/common/run_dir.h"
#include "train/common/run_log.h"
#include "train/common/train_driver.h"
#include "train/common/train_loop.h"
#include "train/data/batching.h"
#include "train/data/load_dataset.h"
#include "train/teacher/inference.h"
#include "train/teacher/model_dir.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

namespace docbert::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// One split as the model sees it.
struct Corpus {
  std::vector<std::string> ids;
  std::vector<std::vector<int32_t>> tokens;  // [CLS] ... [SEP]
  std::vector<std::vector<int32_t>> labels;  // model label ids, sorted
  int64_t size() const { return static_cast<int64_t>(ids.size()); }
};

Corpus make_corpus(const data::Dataset& ds, data::Split split, int64_t limit, const std::vector<int32_t>& label_map,
                   const tok::WordPiece& tokenizer, const TeacherOptions& o) {
  Corpus c;
  std::vector<std::string> texts;
  for (const data::Document* d : ds.split(split)) {
    if (limit > 0 && c.size() == limit) break;
    c.ids.push_back(d->id);
    texts.push_back(d->text);
    std::vector<int32_t> labels;
    for (int32_t l : d->labels) labels.push_back(label_map[static_cast<size_t>(l)]);
    std::sort(labels.begin(), labels.end());
    c.labels.push_back(std::move(labels));
  }
  c.tokens = encode_texts(tokenizer, texts, static_cast<int>(o.max_seq_length), tok::parse_truncation(o.truncation),
                          static_cast<int>(o.head_pieces));
  return c;
}

// --head-bias-init prior: classifier.bias = log-odds of each label in `train` (multi-label: a sigmoid of the bias
// alone then predicts the label frequencies) or the log of each class's frequency (single-label: a softmax of it
// gives the class frequencies). Counts are smoothed by 0.5 so a label absent from the training slice stays finite.
void init_head_bias_to_prior(bert::BertClassifier& model, const Corpus& train) {
  const int64_t k = model.num_labels();
  std::vector<double> count(static_cast<size_t>(k), 0.5);
  for (const auto& labels : train.labels)
    for (int32_t l : labels) count[static_cast<size_t>(l)] += 1;
  const double n = static_cast<double>(train.size()) + 1;
  std::vector<float> b(static_cast<size_t>(k));
  for (size_t l = 0; l < b.size(); ++l) {
    const double p = count[l] / n;
    b[l] = static_cast<float>(model.problem_type() == ProblemType::MultiLabel ? std::log(p / (1 - p)) : std::log(p));
  }
  // Built on the host and copied in, so the parameter may live on any device.
  Tensor bias = model.params().get("classifier.bias");
  bias.copy_from(Tensor::from_vector(b, {k}));
}

// Metrics and mean task loss of `model` on a split.
json evaluate(const bert::BertClassifier& model, const Corpus& c, int64_t batch_size, const std::string& what,
              bool interactive) {
  ProgressBar bar(what, c.size(), interactive);
  const Tensor logits = predict_logits(model, c.tokens, batch_size, [&](int64_t done) { bar.update(done); });
  bar.finish();
  json m = to_json(classification_metrics(logits, c.labels, model.problem_type()));
  double loss = std::numeric_limits<double>::quiet_NaN();
  if (c.size() > 0) {
    NoGradGuard no_grad;
    loss = model.loss(logits, label_targets(c.labels, all_rows(c.size()), model.problem_type(), model.num_labels()))
               .item();
  }
  m["loss"] = loss;
  return m;
}

}  // namespace

json run_teacher(const TeacherOptions& o, const std::vector<std::pair<std::string, std::string>>& rows,
                 std::FILE* out) {
  const double t_start = steady_seconds();
  const bool interactive = !o.no_progress && stderr_is_terminal();
  // The engine's ops dispatch to CUDA, but the model and the trainer still build masks and gather rows on the host.
  DOCBERT_CHECK(o.device != "cuda",
                "--device cuda: BERT training on the GPU is not available yet (the engine's ops run on CUDA; the "
                "model and trainer on device tensors have not landed); use --device cpu or auto");
  DOCBERT_CHECK(o.precision == "fp32", "--precision {}: bf16 training needs the GPU backend; use fp32 on the CPU",
                o.precision);
  set_num_threads(static_cast<int>(o.threads));
  fmt::print(out, "device: cpu, {} threads{}\n", num_threads(),
             o.device == "auto" ? " (auto: training runs on the CPU until the GPU training step lands)" : "");

  const std::string resume_dir = resolve_resume(o.resume, o.output_dir);
  const bool resuming = !resume_dir.empty();
  if (!o.eval_only)
    prepare_output_dir(o.output_dir, o.overwrite, resuming || o.resume == "auto");
  else {
    std::error_code ec;
    fs::create_directories(o.output_dir, ec);
    DOCBERT_CHECK(!ec, "--output-dir {}: cannot create it: {}", o.output_dir, ec.message());
    DOCBERT_CHECK(o.overwrite || !fs::exists(fs::path(o.output_dir) / "results.json"),
                  "--output-dir {} already has results.json: pass --overwrite or choose another folder", o.output_dir);
  }

  fmt::print(out, "train_teacher: resolved options\n{}", format_table(rows));
  std::fflush(out);

  // ---- data ----
  data::ReadOptions read;
  read.dev_fraction = o.dev_fraction;
  if (o.problem_type != "auto") read.problem_type = parse_problem_type(o.problem_type, "--problem-type");
  const data::Dataset ds = data::load_dataset(o.data, data::parse_format(o.format), read);
  const ProblemType problem = ds.problem_type;
  fmt::print(out, "data: {} ({}), {} labels, {} / {} / {} documents\n", ds.name, problem_type_name(problem),
             ds.num_labels(), ds.count(data::Split::Train), ds.count(data::Split::Dev), ds.count(data::Split::Test));

  // ---- model and tokenizer ----
  std::optional<bert::BertClassifier> model;
  std::optional<tok::WordPiece> tokenizer;
  std::string model_source;
  if (o.eval_only || resuming) {
    model_source = o.eval_only ? o.model : resume_dir + "/model";
    model.emplace(bert::BertClassifier::from_pretrained(model_source));
    tokenizer.emplace(tok::WordPiece::from_dir(model_source));
    DOCBERT_CHECK(model->problem_type() == problem, "{}: the model is {} but the dataset is {}", model_source,
                  problem_type_name(model->problem_type()), problem_type_name(problem));
  } else if (!o.model.empty()) {
    model_source = o.model;
    bert::ClassifierLoadReport report;
    model.emplace(bert::BertClassifier::from_pretrained_encoder(o.model, ds.num_labels(), problem, ds.label_names,
                                                                o.seed, &report));
    tokenizer.emplace(tok::WordPiece::from_dir(o.model));
    fmt::print(out, "model: {} ({} tensors loaded; new: {}; unused in the file: {})\n", o.model, report.loaded,
               fmt::join(report.initialised, ", "),
               report.unused.empty() ? "none" : fmt::format("{}", fmt::join(report.unused, ", ")));
  } else {
    tokenizer.emplace(tok::WordPiece::from_vocab(o.vocab));
    model_source = "--arch " + o.arch;
    model.emplace(bert::BertConfig::preset(o.arch, tokenizer->vocab_size()), ds.num_labels(), problem, ds.label_names,
                  o.seed);
  }
  const std::string vocab_text = read_file(tokenizer->vocab_path(), "vocabulary");
  const bert::BertConfig& config = model->config();
  DOCBERT_CHECK(tokenizer->vocab_size() == config.vocab_size,
                "{}: vocab.txt has {} tokens but config.json's vocab_size is {}", model_source, tokenizer->vocab_size(),
                config.vocab_size);
  DOCBERT_CHECK(o.max_seq_length <= config.max_position_embeddings,
                "--max-seq-length {} exceeds the model's max_position_embeddings {}", o.max_seq_length,
                config.max_position_embeddings);
  const std::vector<int32_t> label_map = map_labels(ds.label_names, model->labels(), model_source);
  if (!o.eval_only)
    DOCBERT_CHECK(model->labels() == ds.label_names, "{}: the checkpoint's labels differ from the dataset's",
                  model_source);
  const int64_t params = model->params().numel();
  fmt::print(out, "model: {} layers, hidden {}, {} heads, {} parameters, {} labels\n", config.num_hidden_layers,
             config.hidden_size, config.num_attention_heads, params, model->num_labels());

  const double t_encode = steady_seconds();
  const Corpus train = make_corpus(ds, data::Split::Train, o.max_train_docs, label_map, *tokenizer, o);
  const Corpus dev = make_corpus(ds, data::Split::Dev, o.max_eval_docs, label_map, *tokenizer, o);
  const Corpus test = make_corpus(ds, data::Split::Test, o.max_eval_docs, label_map, *tokenizer, o);
  fmt::print(out, "tokenized {} / {} / {} documents to at most {} tokens in {:.1f} s\n", train.size(), dev.size(),
             test.size(), o.max_seq_length, steady_seconds() - t_encode);
  DOCBERT_CHECK(dev.size() > 0, "{}: the dev split is empty: model selection needs one", o.data);

  const std::string out_dir = o.output_dir;
  if (o.eval_only) {
    json results = {
        {"dev", evaluate(*model, dev, o.eval_batch_size, "dev", interactive)},
        {"test", test.size() > 0 ? evaluate(*model, test, o.eval_batch_size, "test", interactive) : json(nullptr)},
        {"model", o.model},
        {"data", o.data},
        {"params", params}};
    add_device_results(results, model->params().device());
    fmt::print(out, "dev   {}\n", metrics_line(results["dev"]));
    if (test.size() > 0) fmt::print(out, "test  {}\n", metrics_line(results["test"]));
    write_file_atomic(out_dir + "/results.json", results.dump(2) + "\n", "results");
    return results;
  }
  DOCBERT_CHECK(train.size() > 0, "{}: the training split is empty", o.data);
  if (!resuming && o.head_bias_init == "prior") init_head_bias_to_prior(*model, train);
  write_file_atomic(out_dir + "/config.toml", to_toml(rows), "resolved config");

  // ---- optimizer, schedule, data order ----
  AdamWConfig ac;
  ac.lr = o.lr;
  ac.eps = o.adam_eps;
  ac.weight_decay = o.weight_decay;
  ac.bias_correction = o.bias_correction;
  AdamW optimizer(model->params(), ac);
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = o.batch_size;
  plan_options.seed = o.seed;
  const auto micro_per_epoch = static_cast<int64_t>(data::plan_epoch(train.tokens, 0, plan_options).size());
  const int64_t steps_per_epoch = (micro_per_epoch + o.grad_accum_steps - 1) / o.grad_accum_steps;
  const int64_t total_steps = o.max_steps > 0 ? o.max_steps : steps_per_epoch * o.epochs;
  LrSchedule schedule;
  schedule.kind = LrSchedule::Kind::LinearWarmupDecay;
  schedule.total_steps = total_steps;
  schedule.warmup_steps = warmup_steps_from_proportion(o.warmup_proportion, total_steps);

  TrainState st;
  if (resuming) st = resume_training(resume_dir, rows, optimizer, out);
  JsonlLog log(out_dir + "/metrics.jsonl", resuming ? st.log_bytes : 0);
  fmt::print(out,
             "training: {} epochs x {} steps ({} micro-batches of {}, {} per step) = {} steps, warmup {:.1f}, "
             "lr {:g}\n",
             o.epochs, steps_per_epoch, micro_per_epoch, o.batch_size, o.grad_accum_steps, total_steps,
             schedule.warmup_steps, o.lr);
  std::fflush(out);

  // ---- the loop (train/common/train_driver.h) ----
  TrainLoopConfig loop;
  loop.tokens = &train.tokens;
  loop.batching = plan_options;
  loop.epochs = o.epochs;
  loop.total_steps = total_steps;
  loop.grad_accum_steps = o.grad_accum_steps;
  loop.lr = o.lr;
  loop.schedule = schedule;
  loop.seed = o.seed;
  loop.patience = o.patience;
  loop.problem = problem;
  loop.interactive = interactive;
  std::vector<std::string> tries = {fmt::format("a lower --lr (this run: {:g})", o.lr),
                                    o.max_grad_norm > 0
                                        ? fmt::format("a smaller --max-grad-norm (this run: {:g})", o.max_grad_norm)
                                        : std::string("gradient clipping (--max-grad-norm 1)")};
  if (o.precision != "fp32") tries.push_back("--precision fp32");
  for (size_t i = 0; i < tries.size(); ++i)
    loop.divergence_hint += (i == 0 ? "" : i + 1 == tries.size() ? " or " : ", ") + tries[i];
  loop.rows = rows;
  loop.checkpoint_extra = {{"total_steps", total_steps}, {"warmup_steps", schedule.warmup_steps}};
  TrainHooks hooks;
  hooks.batch_loss = [&](const std::vector<int64_t>& batch, RngStream& rng) {
    const data::PaddedBatch b = data::collate_padded(train.tokens, batch);
    const Tensor logits = model->forward(b.ids, Tensor(), b.mask, true, &rng);
    return BatchLoss{model->loss(logits, label_targets(train.labels, batch, problem, model->num_labels()))};
  };
  if (o.max_grad_norm > 0) {
    hooks.before_step = [&](const Tensor& norm) {
      if (o.clip == "global")
        clip_grad_norm_by(model->params(), norm, o.max_grad_norm);
      else
        clip_grad_norm_per_tensor(model->params(), o.max_grad_norm);
    };
  }
  hooks.evaluate_dev = [&](const std::function<bool(const json&)>& keep, const std::string& best_dir) {
    const json m = evaluate(*model, dev, o.eval_batch_size, "dev", interactive);
    if (keep(m)) save_model_dir(*model, *tokenizer, vocab_text, o.max_seq_length, best_dir);
    return m;
  };
  hooks.save_checkpoint = [&](const std::string& dir) {
    save_model_dir(*model, *tokenizer, vocab_text, o.max_seq_length, dir + "/model");
  };
  if (!run_training(st, o, loop, hooks, model->params(), optimizer, log, out))
    return json{{"interrupted_at_step", st.step}};

  // ---- the best model on dev and test ----
  const bert::BertClassifier best = bert::BertClassifier::from_pretrained(out_dir + "/best");
  const json dev_m = evaluate(best, dev, o.eval_batch_size, "dev", interactive);
  const json test_m = test.size() > 0 ? evaluate(best, test, o.eval_batch_size, "test", interactive) : json();
  json results = run_results(st, dev_m, test_m, model->params().device(), t_start);
  results.update({{"params", params},
                  {"model", o.model.empty() ? "--arch " + o.arch : o.model},
                  {"data", o.data},
                  {"problem_type", problem_type_name(problem)},
                  {"selection_metric", selection_name(problem)}});
  report_results(log, results, st, out_dir, out);
  return results;
}

}  // namespace docbert::train
