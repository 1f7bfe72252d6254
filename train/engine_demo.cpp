// engine_demo: the project's main job until the DocBERT teacher and student land.
//
// Trains a small word-level classifier on the real R8 corpus (Reuters, 8 single-label topics) with
// docbert's engine end to end: embedding lookup -> linear + GELU per word -> masked max-pool over the
// document -> dropout -> linear -> softmax cross-entropy, AdamW with linear warmup/decay and global-norm
// clipping, model selection on a dev split carved from train, and a safetensors checkpoint.
//
// Data goes through the project's own pieces: the R8 reader with its seeded dev split (train/data), the word
// tokenizer and vocabulary of the student (tokenizer/), and length-bucketed batches (train/data/batching.h).
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parallel.h"
#include "engine/parameters.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "tokenizer/word_vocab.h"
#include "train/data/batching.h"
#include "train/data/readers/r8_r52.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

using namespace docbert;

namespace {

// One document as the model sees it: word ids (head-truncated to --max-words) and its label.
struct Encoded {
  std::vector<std::vector<int32_t>> ids;
  std::vector<int64_t> labels;
};

Encoded encode(const std::vector<const data::Document*>& docs, const tok::WordVocab& vocab,
               const tok::WordTokenizer& tokenizer, int64_t max_words) {
  Encoded e;
  for (const data::Document* d : docs) {
    std::vector<int32_t> ids = vocab.encode(d->text, tokenizer);
    if (ids.empty()) ids.push_back(tok::WordVocab::kUnkId);  // a text without words still needs one step
    if (static_cast<int64_t>(ids.size()) > max_words) ids.resize(static_cast<size_t>(max_words));
    e.ids.push_back(std::move(ids));
    e.labels.push_back(d->labels.at(0));
  }
  return e;
}

struct Model {
  ParameterRegistry params;
  Tensor emb, w1, b1, w2, b2;
  Model(int64_t vocab, int64_t dim, int64_t num_labels, uint64_t seed) {
    RngStream rng{seed, 0};
    emb = params.add("embeddings.weight", Tensor::empty({vocab, dim}));
    normal_fill(emb, 0, 0.1, rng);
    w1 = params.add("word_mlp.weight", Tensor::empty({dim, dim}));
    normal_fill(w1, 0, 1.0 / std::sqrt(static_cast<double>(dim)), rng);
    b1 = params.add("word_mlp.bias", Tensor::zeros({dim}));
    w2 = params.add("classifier.weight", Tensor::empty({num_labels, dim}));
    normal_fill(w2, 0, 0.02, rng);
    b2 = params.add("classifier.bias", Tensor::zeros({num_labels}));
  }
  // ids (B,T) i64, lengths (B) -> logits (B,K)
  Tensor forward(const Tensor& ids, const Tensor& lengths, bool training, uint64_t seed, uint64_t offset) const {
    Tensor h = gelu(linear(embedding(ids, emb), w1, b1));  // (B,T,D)
    Tensor pooled = masked_max_pool(h, lengths);           // (B,D)
    return linear(dropout(pooled, 0.1, seed, offset, training), w2, b2);
  }
};

// A padded batch of `rows` (indices into e) and its labels.
std::pair<data::PaddedBatch, Tensor> make_batch(const Encoded& e, const std::vector<int64_t>& rows) {
  std::vector<int64_t> labels;
  for (int64_t r : rows) labels.push_back(e.labels[static_cast<size_t>(r)]);
  return {data::collate_padded(e.ids, rows), Tensor::from_vector(labels, {static_cast<int64_t>(rows.size())})};
}

struct Scores {
  double accuracy = 0, macro_f1 = 0;
};

Scores evaluate(const Model& m, const Encoded& e, int num_labels) {
  NoGradGuard ng;
  data::BatchPlanOptions plan;
  plan.batch_size = 128;
  plan.order = data::BatchOrder::Original;
  std::vector<int64_t> tp(num_labels, 0), fp(num_labels, 0), fn(num_labels, 0);
  int64_t correct = 0;
  for (const std::vector<int64_t>& rows : data::plan_epoch(e.ids, 0, plan)) {
    auto [b, labels] = make_batch(e, rows);
    const std::vector<float> logits = m.forward(b.ids, b.lengths, false, 0, 0).to_vector<float>();
    for (size_t r = 0; r < rows.size(); ++r) {
      const float* row = logits.data() + r * static_cast<size_t>(num_labels);
      const int pred = static_cast<int>(std::max_element(row, row + num_labels) - row);
      const int gold = static_cast<int>(e.labels[static_cast<size_t>(rows[r])]);
      if (pred == gold) {
        ++correct;
        ++tp[pred];
      } else {
        ++fp[pred];
        ++fn[gold];
      }
    }
  }
  Scores s;
  s.accuracy = static_cast<double>(correct) / static_cast<double>(e.ids.size());
  for (int k = 0; k < num_labels; ++k) {
    double denom = 2.0 * tp[k] + fp[k] + fn[k];
    s.macro_f1 += denom > 0 ? 2.0 * tp[k] / denom / num_labels : 0;
  }
  return s;
}

int run(int argc, char** argv) {
  CLI::App app{"engine_demo: train a word-embedding classifier on R8 with docbert's engine (CPU)"};
  std::string data_dir = "../shared/data/r8-r52", output_dir;
  int epochs = 8, batch_size = 32, threads = 0, min_count = 2;
  int64_t dim = 128, max_words = 256;
  double lr = 3e-3, weight_decay = 0.01, warmup = 0.1, max_grad_norm = 1.0, dev_fraction = 0.1;
  uint64_t seed = 3435;
  app.add_option("--data-dir", data_dir, "folder holding r8-train.txt and r8-test.txt")->capture_default_str();
  app.add_option("--output-dir", output_dir, "write the best model here as model.safetensors (optional)");
  app.add_option("--epochs", epochs, "training epochs")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch_size, "documents per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--dim", dim, "embedding and hidden width")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-words", max_words, "words kept per document (head)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--min-count", min_count, "minimum training count for a word to enter the vocabulary")
      ->capture_default_str();
  app.add_option("--lr", lr, "peak learning rate (AdamW)")->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "decoupled weight decay (not on biases)")->capture_default_str();
  app.add_option("--warmup-proportion", warmup, "share of steps with linear warmup")->capture_default_str();
  app.add_option("--max-grad-norm", max_grad_norm, "global gradient-norm clip")->capture_default_str();
  app.add_option("--dev-fraction", dev_fraction,
                 "share of r8-train held out for model selection (seeded rule of docs/datasets.md)")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed for init, dropout and shuffling")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);

  data::ReadOptions read_options;
  read_options.dev_fraction = dev_fraction;
  const data::Dataset ds = data::read_r8(data_dir, read_options);
  const std::vector<const data::Document*> train_docs = ds.split(data::Split::Train);
  const tok::WordTokenizer tokenizer;  // BERT's basic tokenizer (R8 is already lower-cased, punctuation-free)
  tok::WordVocabOptions vocab_options;
  vocab_options.min_freq = min_count;
  const tok::WordVocab vocab =
      tok::WordVocab::build(data::vocab_texts(ds, data::VocabSource::Train), tokenizer, vocab_options);
  const Encoded train = encode(train_docs, vocab, tokenizer, max_words);
  const Encoded dev = encode(ds.split(data::Split::Dev), vocab, tokenizer, max_words);
  const Encoded test = encode(ds.split(data::Split::Test), vocab, tokenizer, max_words);
  const int num_labels = ds.num_labels();

  Model model(vocab.size(), dim, num_labels, seed);
  const int64_t steps_per_epoch = (static_cast<int64_t>(train.ids.size()) + batch_size - 1) / batch_size;
  const int64_t total_steps = steps_per_epoch * epochs;
  const double warmup_steps = warmup_steps_from_proportion(warmup, total_steps);
  fmt::print("engine_demo | R8 from {} | train {} dev {} test {} docs | vocab {} | params {} | threads {}\n", data_dir,
             train.ids.size(), dev.ids.size(), test.ids.size(), vocab.size(), model.params.numel(), num_threads());
  fmt::print("            | epochs {} batch {} lr {} wd {} warmup {} steps of {} | seed {}\n", epochs, batch_size, lr,
             weight_decay, warmup_steps, total_steps, seed);

  AdamWConfig cfg;
  cfg.weight_decay = weight_decay;
  AdamW opt(model.params, cfg);
  RngStream dropout_rng{seed + 1, 0};
  std::vector<Tensor> best;
  double best_dev = -1;
  int best_epoch = 0;
  int64_t step = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    data::BatchPlanOptions plan;  // length-bucketed; epoch e's batches derive from (seed, e)
    plan.batch_size = batch_size;
    plan.seed = seed;
    double loss_sum = 0;
    for (const std::vector<int64_t>& rows : data::plan_epoch(train.ids, epoch, plan)) {
      auto [b, labels] = make_batch(train, rows);
      uint64_t offset = dropout_rng.take(static_cast<uint64_t>(rows.size()) * static_cast<uint64_t>(dim));
      Tensor loss = cross_entropy(model.forward(b.ids, b.lengths, true, dropout_rng.seed, offset), labels);
      model.params.zero_grad();
      loss.backward();
      const double grad_norm = clip_grad_norm(model.params, max_grad_norm);
      DOCBERT_CHECK(std::isfinite(grad_norm), "step {}: the gradient norm is {}; lower --lr", step, grad_norm);
      opt.step(lr * linear_warmup_decay(step, warmup_steps, total_steps));
      ++step;
      loss_sum += loss.item();
    }
    Scores d = evaluate(model, dev, num_labels);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("epoch {} | train loss {:.4f} | dev accuracy {:.4f} macro-F1 {:.4f} | {:.1f} s\n", epoch,
               loss_sum / static_cast<double>(steps_per_epoch), d.accuracy, d.macro_f1, secs);
    if (d.accuracy > best_dev) {
      best_dev = d.accuracy;
      best_epoch = epoch;
      best.clear();
      for (const NamedTensor& p : model.params.all()) best.push_back(p.tensor.clone());
    }
  }
  for (size_t i = 0; i < best.size(); ++i) {
    Tensor p = model.params.all()[i].tensor;  // a handle: copying into it writes the registered parameter
    p.copy_from(best[i]);
  }
  Scores t = evaluate(model, test, num_labels);
  fmt::print("best epoch {} (dev accuracy {:.4f}) | R8 test accuracy {:.4f} macro-F1 {:.4f}\n", best_epoch, best_dev,
             t.accuracy, t.macro_f1);
  if (!output_dir.empty()) {
    std::filesystem::create_directories(output_dir);
    save_safetensors(
        output_dir + "/model.safetensors", model.params.all(),
        {{"format", "docbert-engine-demo"}, {"labels", fmt::format("{}", fmt::join(ds.label_names, ","))}});
    vocab.save(output_dir + "/vocab.txt");
    fmt::print("saved {}/model.safetensors and vocab.txt\n", output_dir);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    fmt::print(stderr, "engine_demo: error: {}\nhint: the R8 files come from ../shared/data/r8-r52 (see --help)\n",
               e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "engine_demo: error: {}\n", e.what());
    return 1;
  }
}
