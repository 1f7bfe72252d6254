// bench_bert_step: one BERT fine-tuning step on docbert's engine, the figure bench/hf_bert_step.py gives for HF
// transformers + PyTorch on the same card (scripts/gpu-check.sh runs both and reports the ratio).
//
// The same workload as the Python script: a randomly initialised BertForSequenceClassification (--preset, default
// large), full-length sequences (--seq-len 512) of random token ids, cross-entropy over 10 classes, AdamW
// (weight decay 0.01 outside biases and LayerNorms), --precision bf16 (autocast: GEMM and attention operands in bf16,
// f32 accumulation, f32 master weights) or fp32. Times --steps steps after --warmup (the device synchronised around
// each, median reported) and prints one JSON line per batch size with seq/s, step ms, peak device memory and MFU
// (same FLOP count as the script: 6 N tokens for the weight matmuls + 12 L T C tokens for attention).
#include "engine/autocast.h"
#include "engine/device.h"
#include "engine/optim.h"
#include "engine/random.h"
#include "models/bert/classifier.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

using namespace docbert;

namespace {

struct Options {
  std::string preset = "large", device = "auto", precision = "bf16", batch_sizes = "16,32";
  int64_t seq_len = 512, steps = 10, warmup = 3, num_labels = 10;
  double peak_tflops = 989;
};

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    DOCBERT_CHECK(!item.empty() && item.find_first_not_of("0123456789") == std::string::npos && std::stoll(item) > 0,
                  "--batch-sizes: '{}' is not a positive integer", item);
    out.push_back(std::stoll(item));
  }
  return out;
}

double step_flops(const bert::BertConfig& c, int64_t seq, int64_t batch) {
  const double C = static_cast<double>(c.hidden_size), F = static_cast<double>(c.intermediate_size);
  const double L = static_cast<double>(c.num_hidden_layers), tokens = static_cast<double>(batch * seq);
  return 6 * L * (4 * C * C + 2 * C * F) * tokens + 12 * L * static_cast<double>(seq) * C * tokens;
}

int run(const Options& o) {
  std::string note;
  const Device device = resolve_device(o.device, &note);
  fmt::print(stderr, "{}\n", note);
  DOCBERT_CHECK(o.precision == "fp32" || o.precision == "bf16", "--precision must be fp32 or bf16, got '{}'",
                o.precision);
  DOCBERT_CHECK(o.precision == "fp32" || device == Device::CUDA, "--precision bf16 needs a CUDA device");
  const bert::BertConfig config = bert::BertConfig::preset(o.preset);
  DOCBERT_CHECK(o.seq_len >= 1 && o.seq_len <= config.max_position_embeddings, "--seq-len must be in [1, {}], got {}",
                config.max_position_embeddings, o.seq_len);
  bert::BertClassifier model(config, o.num_labels, ProblemType::SingleLabel, {}, /*seed=*/0);
  model.to(device);
  AdamWConfig ac;
  ac.lr = 2e-5;
  ac.weight_decay = 0.01;
  AdamW opt(model.params(), ac);
  const AutocastGuard autocast(o.precision == "bf16" ? DType::BF16 : DType::F32);
  RngStream data{7, 0}, dropout{1, uint64_t{1} << 40};
  for (int64_t b : parse_list(o.batch_sizes)) {
    std::vector<int64_t> ids(static_cast<size_t>(b * o.seq_len)), labels(static_cast<size_t>(b));
    for (size_t i = 0; i < ids.size(); ++i)
      ids[i] = static_cast<int64_t>(philox_word(data.seed, data.take(1), 0) % static_cast<uint64_t>(config.vocab_size));
    for (size_t i = 0; i < labels.size(); ++i)
      labels[i] = static_cast<int64_t>(philox_word(data.seed, data.take(1), 0) % static_cast<uint64_t>(o.num_labels));
    const Tensor ids_t = Tensor::from_vector(ids, {b, o.seq_len}), labels_t = Tensor::from_vector(labels, {b});
    std::vector<double> times;
    double loss = 0;
    for (int64_t s = 0; s < o.warmup + o.steps; ++s) {
      synchronize(device);
      const auto t0 = std::chrono::steady_clock::now();
      Tensor l = model.loss(model.forward(ids_t, Tensor(), Tensor(), /*training=*/true, &dropout), labels_t);
      l.backward();
      opt.step();
      model.params().zero_grad();
      synchronize(device);
      if (s >= o.warmup) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (s + 1 == o.warmup + o.steps) loss = l.item();
    }
    std::nth_element(times.begin(), times.begin() + static_cast<int64_t>(times.size() / 2), times.end());
    const double step_s = times[times.size() / 2];
    const DeviceMemory mem = device_memory();
    nlohmann::json j = {{"impl", "docbert"},
                        {"device", device_name(device)},
                        {"preset", o.preset},
                        {"batch", b},
                        {"seq_len", o.seq_len},
                        {"precision", o.precision},
                        {"step_ms", step_s * 1e3},
                        {"seq_per_s", static_cast<double>(b) / step_s},
                        {"mfu", step_flops(config, o.seq_len, b) / step_s / (o.peak_tflops * 1e12)},
                        {"peak_bytes", mem.peak_bytes},
                        {"loss", loss}};
    fmt::print("{}\n", j.dump());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"One BERT fine-tuning step on docbert's engine (the counterpart of bench/hf_bert_step.py)"};
  app.add_option("--preset", o.preset, "BERT size: tiny, mini, small, base, large")->capture_default_str();
  app.add_option("--device", o.device, "auto (the GPU when usable), cpu or cuda")->capture_default_str();
  app.add_option("--precision", o.precision, "bf16 (autocast, CUDA only) or fp32")->capture_default_str();
  app.add_option("--batch-sizes", o.batch_sizes, "comma-separated batch sizes")->capture_default_str();
  app.add_option("--seq-len", o.seq_len, "tokens per sequence (every sequence full length)")->capture_default_str();
  app.add_option("--steps", o.steps, "timed steps per batch size")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "untimed steps first")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--num-labels", o.num_labels, "classes of the head")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--peak-tflops", o.peak_tflops, "the card's dense bf16 peak, for MFU")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return run_main("bench_bert_step", [&] { return run(o); });
}
