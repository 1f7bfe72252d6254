#include "train/student/trainer.h"

#include "base/error.h"
#include "base/file_io.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "models/bert/classifier.h"
#include "models/lstm_reg/embeddings_init.h"
#include "models/lstm_reg/lstm_reg.h"
#include "train/common/metrics.h"
#include "train/common/progress.h"
#include "train/common/run_dir.h"
#include "train/common/run_log.h"
#include "train/common/train_driver.h"
#include "train/common/train_loop.h"
#include "train/data/batching.h"
#include "train/data/load_dataset.h"
#include "train/student/augment.h"
#include "train/student/encoder.h"
#include "train/student/inference.h"
#include "train/student/model_dir.h"
#include "train/student/soft_targets.h"
#include "train/student/wordnet_pos.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>

namespace docbert::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The word-vector file's OOV draws (RngStream{seed, 0} initialises the model, dropout starts at kDropoutOffset).
constexpr uint64_t kEmbeddingInitOffset = uint64_t{1} << 39;

// One split as the student sees it.
struct Corpus {
  std::vector<std::vector<int32_t>> tokens;  // student ids
  std::vector<std::vector<int32_t>> labels;  // dataset label ids, sorted
  int64_t oov = 0;                           // [UNK] ids among the tokens
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  int64_t num_tokens() const {
    int64_t n = 0;
    for (const auto& t : tokens) n += static_cast<int64_t>(t.size());
    return n;
  }
};

Corpus make_corpus(const std::vector<std::string>& texts, std::vector<std::vector<int32_t>> labels,
                   const StudentEncoder& encoder) {
  Corpus c;
  c.tokens = encoder.encode_all(texts, &c.oov);
  c.labels = std::move(labels);
  return c;
}

Corpus split_corpus(const data::Dataset& ds, data::Split split, int64_t limit, const StudentEncoder& encoder) {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> labels;
  for (const data::Document* d : ds.split(split)) {
    if (limit > 0 && static_cast<int64_t>(texts.size()) == limit) break;
    texts.push_back(d->text);
    labels.push_back(d->labels);
  }
  return make_corpus(texts, std::move(labels), encoder);
}

std::string default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg != '\0') return (fs::path(xdg) / "docbert" / "soft-targets").string();
  const char* home = std::getenv("HOME");
  DOCBERT_CHECK(home != nullptr && *home != '\0',
                "--cache-dir: neither XDG_CACHE_HOME nor HOME is set; give the soft-target cache folder");
  return (fs::path(home) / ".cache" / "docbert" / "soft-targets").string();
}

// The transfer set of this run: built and saved in output_dir/transfer, or read back from there when resuming.
TransferSet transfer_set(const StudentOptions& o, const data::Dataset& ds, bool resuming, std::FILE* out) {
  const std::string dir = o.output_dir + "/transfer";
  if (resuming) {
    TransferSet set = load_transfer_set(dir, ds.label_names);
    fmt::print(out, "transfer set: {} documents from {}\n", set.docs.size(), dir);
    return set;
  }
  std::vector<const data::Document*> train;
  for (const data::Document* d : ds.split(data::Split::Train)) {
    if (o.max_train_docs > 0 && static_cast<int64_t>(train.size()) == o.max_train_docs) break;
    train.push_back(d);
  }
  AugmentOptions ao;
  ao.copies = resolved_augment_copies(o);
  ao.mask_prob = o.mask_prob;
  ao.pos_prob = o.pos_prob;
  ao.ngram_prob = o.ngram_prob;
  ao.ngram_max = o.ngram_max;
  ao.seed = o.augment_seed;
  ao.replace_function_words = o.replace_function_words;
  const std::string wordnet_dir = o.wordnet.empty() ? kDefaultWordNetDir : o.wordnet;
  // The lexicon is read only when a copy can swap a word, so a run without augmentation needs no WordNet.
  const bool swaps = ao.copies > 0 && ao.pos_prob > 0;
  const PosLexicon lexicon = swaps ? PosLexicon::load(wordnet_dir) : PosLexicon();
  const double t0 = steady_seconds();
  TransferSet set = build_transfer_set(train, ao, lexicon);
  const json provenance = {{"data", fs::absolute(o.data).lexically_normal().string()},
                           {"dataset", ds.name},
                           {"train_documents", train.size()},
                           {"augment", to_json(ao)},
                           {"wordnet", swaps ? wordnet_dir : ""}};
  fs::create_directories(dir);
  save_transfer_set(set, provenance, ds.label_names, dir);
  const AugmentStats& s = set.stats;
  fmt::print(out, "transfer set: {} training documents + {} augmented copies = {} documents ({:.1f}x) in {:.1f} s",
             train.size(), s.copies, set.docs.size(),
             static_cast<double>(set.docs.size()) / static_cast<double>(std::max<size_t>(1, train.size())),
             steady_seconds() - t0);
  if (s.words > 0)
    fmt::print(out, "; {:.1f}% of {} words masked, {:.1f}% swapped by part of speech", 100.0 * s.masked / s.words,
               s.words, 100.0 * s.replaced / s.words);
  fmt::print(out, "; saved in {}\n", dir);
  return set;
}

StudentEncoder make_encoder(const StudentOptions& o, const std::vector<std::string>& transfer_texts) {
  if (o.tokenizer == "wordpiece")
    return StudentEncoder::from_wordpiece(o.vocab.empty() ? o.teacher + "/vocab.txt" : o.vocab, o.max_tokens);
  if (o.tokenizer == "sentencepiece") return StudentEncoder::from_sentencepiece(o.vocab, o.max_tokens);
  tok::WordVocabOptions vo;
  vo.min_freq = o.min_freq;
  vo.max_size = o.max_vocab;
  return StudentEncoder::build_words(
      transfer_texts, o.tokenizer == "word" ? tok::WordTokenizerKind::Basic : tok::WordTokenizerKind::Hedwig, vo,
      o.max_tokens);
}

// A fresh student: the config from the options, then the embedding table from --embeddings.
lstm_reg::LstmReg make_student(const StudentOptions& o, const data::Dataset& ds, const StudentEncoder& encoder,
                               std::FILE* out) {
  std::optional<bert::BertClassifier> teacher;
  lstm_reg::LstmRegConfig c;
  c.embed_dim = o.embed_dim;
  if (o.embeddings == "teacher") {
    teacher.emplace(bert::BertClassifier::from_pretrained(o.teacher));
    c.embed_dim = teacher->config().hidden_size;
  }
  c.vocab_size = encoder.vocab_size();
  c.hidden = o.hidden;
  c.bidirectional = o.bidirectional;
  c.num_labels = ds.num_labels();
  c.problem_type = ds.problem_type;
  c.labels = ds.label_names;
  c.dropout = o.dropout;
  c.embed_droprate = o.embed_droprate;
  c.wdrop = o.wdrop;
  c.wdrop_directions = lstm_reg::parse_wdrop_directions(o.wdrop_directions, "--wdrop-directions");
  c.freeze_embeddings = o.freeze_embeddings;
  c.tar = o.tar;
  c.ar = o.ar;
  c.pad_id = encoder.pad_id();
  lstm_reg::LstmReg model(c, o.seed);
  if (o.embeddings == "word2vec") {
    DOCBERT_CHECK(encoder.words() != nullptr,
                  "--embeddings word2vec needs a word tokenizer (--tokenizer word or "
                  "word-hedwig), not {}",
                  encoder.kind_name());
    RngStream rng{o.seed, kEmbeddingInitOffset};
    lstm_reg::WordVectorsOptions wo;
    wo.pad_id = c.pad_id;
    const lstm_reg::WordVectorsReport r =
        lstm_reg::init_from_word_vectors(model.embeddings(), encoder.words()->words(), o.word_vectors, rng, wo);
    fmt::print(out, "embeddings: {} ({}): {} words found ({} through lower case), {} get the shared random vector\n",
               o.word_vectors, r.format, r.exact + r.lowercase, r.lowercase, r.missing_ids.size());
  } else if (o.embeddings == "teacher") {
    const Tensor& table = teacher->params().get("bert.embeddings.word_embeddings.weight");
    if (encoder.words() != nullptr) {
      const tok::WordPiece pieces = tok::WordPiece::from_dir(o.teacher);
      const lstm_reg::TeacherPiecesReport r =
          lstm_reg::init_from_teacher_pieces(model.embeddings(), encoder.words()->words(), table, pieces, c.pad_id);
      fmt::print(out,
                 "embeddings: the teacher's input embeddings, averaged over each word's pieces ({} words "
                 "contain an unknown piece)\n",
                 r.unknown);
    } else {
      DOCBERT_CHECK(table.shape()[0] == c.vocab_size,
                    "--embeddings teacher: the student's WordPiece vocabulary has {} tokens, the teacher's table {}: "
                    "use the teacher's vocab.txt",
                    c.vocab_size, table.shape()[0]);
      lstm_reg::init_from_teacher_rows(model.embeddings(), table, c.pad_id);
      fmt::print(out, "embeddings: the teacher's input embeddings, row for row\n");
    }
  }
  return model;
}

// The rows of `logits` (N, K) named by `rows`, as a (B, K) tensor on logits' device: a row gather with the
// embedding op (the teacher's logits are a target, never differentiated).
Tensor gather_rows(const Tensor& logits, const std::vector<int64_t>& rows) {
  NoGradGuard no_grad;
  return embedding(Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())}), logits);
}

// Metrics and mean task loss (no TAR/AR) of `model` on a split.
json evaluate(const lstm_reg::LstmReg& model, const Corpus& c, int64_t batch_size, const std::string& what,
              bool interactive) {
  ProgressBar bar(what, c.size(), interactive);
  const Tensor logits = predict_student_logits(model, c.tokens, batch_size, [&](int64_t done) { bar.update(done); });
  bar.finish();
  const ProblemType problem = model.config().problem_type;
  json m = to_json(classification_metrics(logits, c.labels, problem));
  double loss = std::numeric_limits<double>::quiet_NaN();
  if (c.size() > 0) {
    NoGradGuard no_grad;
    loss =
        model.task_loss(logits, label_targets(c.labels, all_rows(c.size()), problem, model.config().num_labels)).item();
  }
  m["loss"] = loss;
  return m;
}

}  // namespace

json run_student(const StudentOptions& o, const std::vector<std::pair<std::string, std::string>>& rows,
                 std::FILE* out) {
  const double t_start = steady_seconds();
  const bool interactive = !o.no_progress && stderr_is_terminal();
  DOCBERT_CHECK(o.device != "cuda",
                "--device cuda: LSTM_reg training on the GPU is not available yet (the engine's ops run on CUDA; the "
                "model and trainer on device tensors have not landed); use --device cpu or auto");
  set_num_threads(static_cast<int>(o.threads));
  fmt::print(out, "device: cpu, {} threads{}\n", num_threads(),
             o.device == "auto" ? " (auto: training runs on the CPU until the GPU training step lands)" : "");

  const std::string resume_dir = resolve_resume(o.resume, o.output_dir);
  const bool resuming = !resume_dir.empty();
  prepare_output_dir(o.output_dir, o.overwrite, resuming || o.resume == "auto");
  fmt::print(out, "distill_student: resolved options\n{}", format_table(rows));
  std::fflush(out);

  // ---- data and transfer set ----
  data::ReadOptions read;
  read.dev_fraction = o.dev_fraction;
  if (o.problem_type != "auto") read.problem_type = parse_problem_type(o.problem_type, "--problem-type");
  const data::Dataset ds = data::load_dataset(o.data, data::parse_format(o.format), read);
  const ProblemType problem = ds.problem_type;
  const bool multi = problem == ProblemType::MultiLabel;
  fmt::print(out, "data: {} ({}), {} labels, {} / {} / {} documents\n", ds.name, problem_type_name(problem),
             ds.num_labels(), ds.count(data::Split::Train), ds.count(data::Split::Dev), ds.count(data::Split::Test));
  const double lambda = resolved_distill_weight(o, multi);
  const int64_t batch_size = resolved_batch_size(o, multi);
  const std::string reduction = resolved_distill_reduction(o, multi);
  const TransferSet set = transfer_set(o, ds, resuming, out);
  DOCBERT_CHECK(!set.docs.empty(), "{}: the training split is empty", o.data);
  std::vector<std::string> transfer_ids, transfer_texts;
  std::vector<std::vector<int32_t>> transfer_labels;
  for (const TransferDoc& d : set.docs) {
    transfer_ids.push_back(d.id);
    transfer_texts.push_back(d.text);
    transfer_labels.push_back(d.labels);
  }

  // ---- student ----
  std::optional<StudentEncoder> encoder;
  std::optional<lstm_reg::LstmReg> model;
  if (resuming) {
    StudentModel saved = load_student_dir(resume_dir + "/model");
    encoder.emplace(std::move(saved.encoder));
    model.emplace(std::move(saved.model));
  } else {
    encoder.emplace(make_encoder(o, transfer_texts));
    model.emplace(make_student(o, ds, *encoder, out));
  }
  DOCBERT_CHECK(model->labels() == ds.label_names, "{}: the checkpoint's labels differ from the dataset's", resume_dir);
  const lstm_reg::LstmRegConfig& config = model->config();
  fmt::print(out,
             "student: LSTM_reg, {} tokenizer, vocabulary {}, embed {}, hidden {}{}, {} parameters ({} with the "
             "embedding table), {} labels\n",
             encoder->kind_name(), config.vocab_size, config.embed_dim, config.hidden,
             config.bidirectional ? " x 2 directions" : "", model->num_parameters(false), model->num_parameters(true),
             config.num_labels);

  const Corpus train = make_corpus(transfer_texts, transfer_labels, *encoder);
  const Corpus dev = split_corpus(ds, data::Split::Dev, o.max_eval_docs, *encoder);
  const Corpus test = split_corpus(ds, data::Split::Test, o.max_eval_docs, *encoder);
  auto oov_share = [](const Corpus& c) {
    return c.num_tokens() > 0 ? 100.0 * static_cast<double>(c.oov) / static_cast<double>(c.num_tokens()) : 0.0;
  };
  fmt::print(out, "tokens: transfer {} ({:.1f} per document), dev {} ({:.2f}% unknown), test {} ({:.2f}% unknown)\n",
             train.num_tokens(), static_cast<double>(train.num_tokens()) / static_cast<double>(train.size()),
             dev.num_tokens(), oov_share(dev), test.num_tokens(), oov_share(test));
  DOCBERT_CHECK(dev.size() > 0, "{}: the dev split is empty: model selection needs one", o.data);

  // ---- soft targets ----
  Tensor soft;
  json soft_info = nullptr;
  if (lambda > 0) {
    if (!o.soft_targets.empty()) {
      soft = soft_targets_from_file(o.soft_targets, transfer_ids, ds.label_names, problem);
      soft_info = {{"file", o.soft_targets}};
      fmt::print(out, "soft targets: {} teacher logits from {}\n", transfer_ids.size(), o.soft_targets);
    } else {
      SoftTargetOptions so;
      so.teacher_dir = o.teacher;
      so.cache_dir = o.cache_dir.empty() ? default_cache_dir() : o.cache_dir;
      so.max_seq_length = o.teacher_max_seq_length;
      so.batch_size = o.teacher_batch_size;
      const SoftTargets st =
          teacher_soft_targets(so, transfer_ids, transfer_texts, ds.label_names, problem, out, interactive);
      soft = st.logits;
      soft_info = {{"teacher", o.teacher}, {"file", st.path}, {"key", st.key}, {"from_cache", st.from_cache}};
    }
  }
  const std::string out_dir = o.output_dir;
  write_file_atomic(out_dir + "/config.toml", to_toml(rows), "resolved config");

  // ---- optimizer, averaging, data order ----
  AdamConfig ac;
  ac.lr = o.lr;
  ac.weight_decay = o.weight_decay;
  Adam optimizer(model->params(), ac);
  std::optional<Ema> ema;
  if (o.beta_ema > 0) ema.emplace(model->params());
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = batch_size;
  plan_options.seed = o.seed;
  data::CollateOptions collate;
  collate.pad_id = std::max<int32_t>(0, encoder->pad_id());
  const auto steps_per_epoch = static_cast<int64_t>(data::plan_epoch(train.tokens, 0, plan_options).size());
  const int64_t total_steps =
      o.max_steps > 0 ? std::min(o.max_steps, steps_per_epoch * o.epochs) : steps_per_epoch * o.epochs;

  TrainState st;
  if (resuming) {
    st = resume_training(resume_dir, rows, optimizer, out);
    if (ema) ema->load_state(read_state_file(resume_dir + "/ema.safetensors"));
  }
  JsonlLog log(out_dir + "/metrics.jsonl", resuming ? st.log_bytes : 0);
  fmt::print(out, "training: {} epochs x {} steps of {} documents = {} steps, Adam lr {:g}, {}\n", o.epochs,
             steps_per_epoch, batch_size, total_steps, o.lr,
             lambda > 0 ? fmt::format("task loss + {:g} x {}{} (T = {:g})", lambda,
                                      o.distill_loss == "mse" ? "MSE of the logits"
                                      : multi                 ? "Bernoulli KL(teacher || student)"
                                                              : "softmax KL(teacher || student)",
                                      o.distill_loss == "kl" && reduction == "mean" ? " / labels" : "", o.temperature)
                        : std::string("task loss only (no distillation)"));
  std::fflush(out);

  auto distill_loss = [&](const Tensor& student, const Tensor& teacher) {
    if (o.distill_loss == "mse") return mse(student, teacher);
    const Tensor kl =
        multi ? kl_div_bernoulli(student, teacher, o.temperature) : kl_div_softmax(student, teacher, o.temperature);
    return reduction == "mean" ? scale(kl, 1.0 / static_cast<double>(config.num_labels)) : kl;
  };

  // ---- the loop (train/common/train_driver.h): one batch per optimizer step ----
  TrainLoopConfig loop;
  loop.tokens = &train.tokens;
  loop.batching = plan_options;
  loop.epochs = o.epochs;
  loop.total_steps = total_steps;
  loop.lr = o.lr;  // constant (the default LrSchedule)
  loop.seed = o.seed;
  loop.patience = o.patience;
  loop.problem = problem;
  loop.with_distill = true;
  loop.interactive = interactive;
  loop.divergence_hint = fmt::format("a lower --lr (this run: {:g})", o.lr);
  loop.rows = rows;
  loop.checkpoint_extra = {{"total_steps", total_steps}};
  TrainHooks hooks;
  hooks.batch_loss = [&](const std::vector<int64_t>& batch, RngStream& rng) {
    const data::PaddedBatch b = data::collate_padded(train.tokens, batch, collate);
    const lstm_reg::LstmRegOutput y = model->forward(b.ids, b.lengths, true, &rng);
    BatchLoss l{model->loss(y, label_targets(train.labels, batch, problem, config.num_labels))};
    if (lambda > 0) {
      const Tensor d = distill_loss(y.logits, gather_rows(soft, batch));
      l.distill = d.item();
      l.loss = add(l.loss, scale(d, lambda));
    }
    return l;
  };
  if (ema) hooks.after_step = [&] { ema->update(o.beta_ema); };
  // Dev is scored, and best/ saved, with the averaged weights.
  hooks.evaluate_dev = [&](const std::function<bool(const json&)>& keep, const std::string& best_dir) {
    if (ema) ema->swap_in(o.ema_bias_correction);
    const json m = evaluate(*model, dev, o.eval_batch_size, "dev", interactive);
    if (keep(m)) save_student_dir(*model, *encoder, best_dir);
    if (ema) ema->swap_out();
    return m;
  };
  hooks.save_checkpoint = [&](const std::string& dir) {
    save_student_dir(*model, *encoder, dir + "/model");
    if (ema) save_safetensors(dir + "/ema.safetensors", ema->state());
  };
  if (!run_training(st, o, loop, hooks, model->params(), optimizer, log, out))
    return json{{"interrupted_at_step", st.step}};

  // ---- the best model on dev and test ----
  const StudentModel best = load_student_dir(out_dir + "/best");
  const json dev_m = evaluate(best.model, dev, o.eval_batch_size, "dev", interactive);
  const json test_m = test.size() > 0 ? evaluate(best.model, test, o.eval_batch_size, "test", interactive) : json();
  json results = run_results(st, dev_m, test_m, model->params().device(), t_start);
  results.update({{"params", best.model.num_parameters(false)},
                  {"params_with_embeddings", best.model.num_parameters(true)},
                  {"transfer_documents", set.docs.size()},
                  {"distill_weight", lambda},
                  {"distill_loss", lambda > 0 ? json(o.distill_loss) : json(nullptr)},
                  {"distill_reduction", lambda > 0 && o.distill_loss == "kl" ? json(reduction) : json(nullptr)},
                  {"soft_targets", soft_info},
                  {"batch_size", batch_size},
                  {"data", o.data},
                  {"problem_type", problem_type_name(problem)},
                  {"selection_metric", selection_name(problem)}});
  report_results(log, results, st, out_dir, out);
  return results;
}

}  // namespace docbert::train
