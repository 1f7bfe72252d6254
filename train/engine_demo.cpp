// engine_demo: the project's main job until the DocBERT teacher and student land.
//
// Trains a small word-level classifier on the real R8 corpus (Reuters, 8 single-label topics) with
// docbert's engine end to end: embedding lookup -> linear + GELU per word -> masked max-pool over the
// document -> dropout -> linear -> softmax cross-entropy, AdamW with linear warmup/decay and global-norm
// clipping, model selection on a dev split carved from train, and a safetensors checkpoint.
//
// R8 format: one document per line, "<label digit> <lower-cased words>", labels 0-7 =
// acq crude earn grain interest money-fx ship trade.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parallel.h"
#include "engine/parameters.h"
#include "engine/random.h"
#include "engine/safetensors.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <unordered_map>

using namespace docbert;

namespace {

const char* kLabels[] = {"acq", "crude", "earn", "grain", "interest", "money-fx", "ship", "trade"};
constexpr int kNumLabels = 8;

struct Doc {
  std::vector<std::string> words;
  int label = 0;
};

std::vector<Doc> read_r8(const std::string& path) {
  std::ifstream in(path);
  DOCBERT_CHECK(in, "cannot open {}", path);
  std::vector<Doc> docs;
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream ss(line);
    std::string label;
    ss >> label;
    DOCBERT_CHECK(label.size() == 1 && label[0] >= '0' && label[0] < '0' + kNumLabels,
                  "{}:{}: expected a label digit 0-7 at the start of the line, got '{}'", path, lineno, label);
    Doc d;
    d.label = label[0] - '0';
    for (std::string w; ss >> w;) d.words.push_back(w);
    DOCBERT_CHECK(!d.words.empty(), "{}:{}: the document has no text", path, lineno);
    docs.push_back(std::move(d));
  }
  DOCBERT_CHECK(!docs.empty(), "{} holds no documents", path);
  return docs;
}

// Word vocabulary from the training split only: [PAD]=0, [UNK]=1, then words seen >= min_count times.
struct Vocab {
  std::unordered_map<std::string, int64_t> ids;
  std::vector<std::string> words{"[PAD]", "[UNK]"};
  Vocab(const std::vector<Doc>& docs, int min_count) {
    std::unordered_map<std::string, int> counts;
    for (const Doc& d : docs)
      for (const std::string& w : d.words) ++counts[w];
    std::vector<std::string> kept;
    for (auto& [w, c] : counts)
      if (c >= min_count) kept.push_back(w);
    std::sort(kept.begin(), kept.end());  // deterministic ids
    for (const std::string& w : kept) {
      ids[w] = static_cast<int64_t>(words.size());
      words.push_back(w);
    }
  }
  int64_t id(const std::string& w) const {
    auto it = ids.find(w);
    return it == ids.end() ? 1 : it->second;
  }
};

struct Model {
  ParameterRegistry params;
  Tensor emb, w1, b1, w2, b2;
  Model(int64_t vocab, int64_t dim, uint64_t seed) {
    RngStream rng{seed, 0};
    emb = params.add("embeddings.weight", Tensor::empty({vocab, dim}));
    normal_fill(emb, 0, 0.1, rng);
    w1 = params.add("word_mlp.weight", Tensor::empty({dim, dim}));
    normal_fill(w1, 0, 1.0 / std::sqrt(static_cast<double>(dim)), rng);
    b1 = params.add("word_mlp.bias", Tensor::zeros({dim}));
    w2 = params.add("classifier.weight", Tensor::empty({kNumLabels, dim}));
    normal_fill(w2, 0, 0.02, rng);
    b2 = params.add("classifier.bias", Tensor::zeros({kNumLabels}));
  }
  // ids (B,T) i64, lengths (B) -> logits (B,K)
  Tensor forward(const Tensor& ids, const Tensor& lengths, bool training, uint64_t seed, uint64_t offset) const {
    Tensor h = gelu(linear(embedding(ids, emb), w1, b1));  // (B,T,D)
    Tensor pooled = masked_max_pool(h, lengths);           // (B,D)
    return linear(dropout(pooled, 0.1, seed, offset, training), w2, b2);
  }
};

struct Batch {
  Tensor ids, lengths, labels;
};

Batch make_batch(const std::vector<Doc>& docs, const std::vector<size_t>& order, size_t begin, size_t end,
                 const Vocab& vocab, int64_t max_words) {
  int64_t T = 1;
  for (size_t i = begin; i < end; ++i)
    T = std::max<int64_t>(T, std::min<int64_t>(max_words, static_cast<int64_t>(docs[order[i]].words.size())));
  const int64_t B = static_cast<int64_t>(end - begin);
  std::vector<int64_t> ids(static_cast<size_t>(B * T), 0), lengths, labels;
  for (int64_t b = 0; b < B; ++b) {
    const Doc& d = docs[order[begin + static_cast<size_t>(b)]];
    int64_t n = std::min<int64_t>(max_words, static_cast<int64_t>(d.words.size()));
    for (int64_t t = 0; t < n; ++t) ids[static_cast<size_t>(b * T + t)] = vocab.id(d.words[static_cast<size_t>(t)]);
    lengths.push_back(n);
    labels.push_back(d.label);
  }
  return {Tensor::from_vector(ids, {B, T}), Tensor::from_vector(lengths, {B}), Tensor::from_vector(labels, {B})};
}

struct Scores {
  double accuracy = 0, macro_f1 = 0;
};

Scores evaluate(const Model& m, const std::vector<Doc>& docs, const Vocab& vocab, int64_t max_words) {
  NoGradGuard ng;
  std::vector<size_t> order(docs.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<int64_t> tp(kNumLabels, 0), fp(kNumLabels, 0), fn(kNumLabels, 0);
  int64_t correct = 0;
  for (size_t i = 0; i < docs.size(); i += 128) {
    size_t end = std::min(docs.size(), i + 128);
    Batch b = make_batch(docs, order, i, end, vocab, max_words);
    Tensor logits = m.forward(b.ids, b.lengths, false, 0, 0);
    const float* z = logits.data<float>();
    for (size_t r = 0; r < end - i; ++r) {
      int pred =
          static_cast<int>(std::max_element(z + r * kNumLabels, z + (r + 1) * kNumLabels) - (z + r * kNumLabels));
      int gold = docs[i + r].label;
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
  s.accuracy = static_cast<double>(correct) / static_cast<double>(docs.size());
  for (int k = 0; k < kNumLabels; ++k) {
    double denom = 2.0 * tp[k] + fp[k] + fn[k];
    s.macro_f1 += denom > 0 ? 2.0 * tp[k] / denom / kNumLabels : 0;
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
  app.add_option("--dev-fraction", dev_fraction, "share of r8-train held out (seeded) for model selection")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed for init, dropout and shuffling")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);

  auto train_all = read_r8(data_dir + "/r8-train.txt");
  auto test = read_r8(data_dir + "/r8-test.txt");
  // Seeded split of r8-train into train/dev (R8 ships no dev set).
  std::vector<size_t> perm(train_all.size());
  std::iota(perm.begin(), perm.end(), 0);
  seeded_shuffle(perm, seed, 1ull << 30);
  const size_t n_dev = static_cast<size_t>(dev_fraction * static_cast<double>(perm.size()));
  std::vector<Doc> dev, train;
  for (size_t i = 0; i < perm.size(); ++i) (i < n_dev ? dev : train).push_back(train_all[perm[i]]);

  Vocab vocab(train, min_count);
  Model model(static_cast<int64_t>(vocab.words.size()), dim, seed);
  const int64_t steps_per_epoch = (static_cast<int64_t>(train.size()) + batch_size - 1) / batch_size;
  const int64_t total_steps = steps_per_epoch * epochs;
  const double warmup_steps = warmup_steps_from_proportion(warmup, total_steps);
  fmt::print("engine_demo | R8 from {} | train {} dev {} test {} docs | vocab {} | params {} | threads {}\n", data_dir,
             train.size(), dev.size(), test.size(), vocab.words.size(), model.params.numel(), num_threads());
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
    std::vector<size_t> order(train.size());
    std::iota(order.begin(), order.end(), 0);
    seeded_shuffle(order, seed, static_cast<uint64_t>(epoch) << 32);  // epoch e's order derives from (seed, e)
    double loss_sum = 0;
    for (size_t i = 0; i < train.size(); i += static_cast<size_t>(batch_size)) {
      size_t end = std::min(train.size(), i + static_cast<size_t>(batch_size));
      Batch b = make_batch(train, order, i, end, vocab, max_words);
      uint64_t offset = dropout_rng.take(static_cast<uint64_t>((end - i) * static_cast<size_t>(dim)));
      Tensor loss = cross_entropy(model.forward(b.ids, b.lengths, true, dropout_rng.seed, offset), b.labels);
      model.params.zero_grad();
      loss.backward();
      const double grad_norm = clip_grad_norm(model.params, max_grad_norm);
      DOCBERT_CHECK(std::isfinite(grad_norm), "step {}: the gradient norm is {}; lower --lr", step, grad_norm);
      opt.step(lr * linear_warmup_decay(step, warmup_steps, total_steps));
      ++step;
      loss_sum += loss.item();
    }
    Scores d = evaluate(model, dev, vocab, max_words);
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
  Scores t = evaluate(model, test, vocab, max_words);
  fmt::print("best epoch {} (dev accuracy {:.4f}) | R8 test accuracy {:.4f} macro-F1 {:.4f}\n", best_epoch, best_dev,
             t.accuracy, t.macro_f1);
  if (!output_dir.empty()) {
    std::filesystem::create_directories(output_dir);
    save_safetensors(output_dir + "/model.safetensors", model.params.all(),
                     {{"format", "docbert-engine-demo"}, {"labels", fmt::format("{}", fmt::join(kLabels, ","))}});
    std::ofstream v(output_dir + "/vocab.txt");
    for (const std::string& w : vocab.words) v << w << '\n';
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
