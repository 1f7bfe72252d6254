// LSTM_reg, the student (models/lstm_reg): golden logits, losses and gradients of a PyTorch reg_lstm
// (tests/golden/lstm_reg.py), its regularisers (word-type embedding dropout, DropConnect, classifier dropout),
// init and parameter counts, the save/load round trip and config errors, a finite-difference gradient check of the
// whole model, and the embedding initialisers (word2vec text and binary files, the teacher's table).
#include "models/lstm_reg/lstm_reg.h"
#include "models/lstm_reg/embeddings_init.h"

#include "engine/autograd.h"
#include "base/file_io.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "tests/op_table.h"
#include "tests/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

using namespace docbert;
using namespace docbert::lstm_reg;
using namespace docbert::test;
using Catch::Matchers::Contains;

namespace {

// The golden script's sizes and regulariser weights (tests/golden/lstm_reg.py).
constexpr double kGoldenTar = 0.7, kGoldenAr = 0.3;

LstmRegConfig small_config(int64_t V, int64_t E, int64_t H, int64_t K) {
  LstmRegConfig c;
  c.vocab_size = V;
  c.embed_dim = E;
  c.hidden = H;
  c.num_labels = K;
  return c;
}

// Copies every parameter of the golden fixture into `m`.
void load_golden(LstmReg& m, const std::map<std::string, Tensor>& fx) {
  for (const NamedTensor& p : m.params().all()) {
    Tensor t = p.tensor;
    t.copy_from(fx.at(p.name).to(m.dtype()));
  }
}

// The columns [begin, begin + n) of the last dim of a (B, T, C) tensor, as a new (B, T, n) one.
Tensor last_dim_slice(const Tensor& t, int64_t begin, int64_t n) { return slice(t, -1, begin, begin + n); }

std::string f32_bytes(std::initializer_list<float> values) {
  std::string s;
  for (float f : values) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int b = 0; b < 4; ++b) s.push_back(static_cast<char>((u >> (8 * b)) & 0xff));
  }
  return s;
}

std::vector<double> row(const Tensor& table, int64_t r) {
  const std::vector<double> all = table.to_vector<double>();
  const int64_t E = table.size(1);
  return {all.begin() + r * E, all.begin() + (r + 1) * E};
}

}  // namespace

TEST_CASE("LstmReg matches PyTorch reg_lstm: logits, CE/BCE/TAR+AR losses and gradients", "[lstm_reg][golden]") {
  const std::map<std::string, Tensor> fx = load_fixture("lstm_reg");
  const Tensor &ids = fx.at("ids"), &lengths = fx.at("lengths"), &labels = fx.at("labels");
  for (DType dt : {DType::F64, DType::F32}) {
    INFO(dtype_name(dt));
    // f64 is held to rounding noise (both sides compute the same formulas in double, a 6-step recurrence); f32
    // to the 1e-5 (logits and gradients of size ~1) and 1e-6 (losses).
    const bool f64 = dt == DType::F64;
    const double tol = f64 ? 1e-10 : 1e-5, tol_loss = f64 ? 1e-12 : 1e-6;
    for (const std::string key : {"ce", "bce", "reg"}) {
      INFO(key);
      LstmRegConfig c = small_config(50, 8, 6, 5);
      c.problem_type = key == "bce" ? ProblemType::MultiLabel : ProblemType::SingleLabel;
      if (key == "reg") {
        c.tar = kGoldenTar;
        c.ar = kGoldenAr;
      }
      LstmReg m(c, 1, dt);
      load_golden(m, fx);
      const LstmRegOutput out = m.forward(ids, lengths);
      check_close(out.logits.to(DType::F64), fx.at("logits"), tol, Tol::Absolute, "logits");
      // pad_packed_sequence's shape: max(lengths) = 6 of the 7 columns.
      REQUIRE(out.rnn_out.shape() == Shape{4, 6, 12});
      check_close(out.rnn_out.to(DType::F64), fx.at("rnn_out"), tol, Tol::Absolute, "rnn_out");
      const Tensor target = key == "bce" ? fx.at("multi_hot").to(dt) : labels;
      const Tensor loss = m.loss(out, target);
      check_close(loss.to(DType::F64), fx.at(key), tol_loss, Tol::Absolute, "loss");
      loss.backward();
      for (const NamedTensor& p : m.params().all()) {
        INFO(p.name);
        check_close(p.tensor.grad().to(DType::F64), fx.at(key + ".grad." + p.name), f64 ? 1e-10 : 2e-5, Tol::Absolute,
                    p.name);
      }
    }
  }
}

TEST_CASE("LstmReg word-type dropout drops whole vocabulary rows", "[lstm_reg]") {
  constexpr int64_t V = 20000, E = 2;
  constexpr double p = 0.2;
  LstmRegConfig c = small_config(V, E, 2, 2);
  c.embed_droprate = p;
  const LstmReg m(c, 3);
  // Every word twice, in different rows and positions: row 0 is 0 .. V-1, row 1 the reverse.
  std::vector<int64_t> v(2 * V);
  for (int64_t i = 0; i < V; ++i) v[i] = i, v[V + i] = V - 1 - i;
  const Tensor ids = ids_tensor(v, {2, V});
  const Tensor plain = embedding(ids, m.params().get("embed.weight"));
  CHECK(bit_equal(m.embed(ids), plain));  // eval: the lookup itself

  RngStream rng{7, 0};
  const Tensor x = m.embed(ids, true, &rng);
  CHECK(rng.offset == (V + 3) / 4);  // one draw per word type
  const float* got = x.data<float>();
  const float* want = plain.data<float>();
  const float scale = 1.0f / (1.0f - static_cast<float>(p));  // engine/ops/dropout.h's survivor scale
  int64_t dropped = 0;
  for (int64_t w = 1; w < V; ++w) {                      // row 0 is [PAD], zero either way
    const float* a = got + w * E;                        // occurrence in batch row 0
    const float* b = got + (V + (V - 1 - w)) * E;        // occurrence in batch row 1
    REQUIRE(std::memcmp(a, b, E * sizeof(float)) == 0);  // one decision per word type
    const bool zero = a[0] == 0 && a[1] == 0;
    dropped += zero;
    if (!zero) REQUIRE((a[0] == want[w * E] * scale && a[1] == want[w * E + 1] * scale));
  }
  // Binomial(V-1, 0.2): standard deviation 0.0028; 0.012 is over four of them.
  CHECK(std::abs(static_cast<double>(dropped) / (V - 1) - p) < 0.012);

  RngStream same{7, 0}, other{8, 0};
  CHECK(bit_equal(m.embed(ids, true, &same), x));
  CHECK_FALSE(bit_equal(m.embed(ids, true, &other), x));

  // The table's gradient: each kept word receives scale times its two occurrences, a dropped one nothing.
  RngStream grad_rng{7, 0};
  Tensor y = m.embed(ids, true, &grad_rng);
  y.backward(Tensor::full(y.shape(), 1.0));
  const Tensor& g = m.params().get("embed.weight").grad();
  for (int64_t w = 1; w < V; ++w) {
    const bool kept = got[w * E] != 0;
    REQUIRE(g.data<float>()[w * E] == (kept ? 2 * scale : 0.0f));
  }

  // A frozen table (hedwig's static mode) gets no gradient but is still dropped when training.
  c.freeze_embeddings = true;
  const LstmReg frozen(c, 3);
  CHECK_FALSE(frozen.params().get("embed.weight").requires_grad());
  RngStream again{7, 0};
  const Tensor fx = frozen.embed(ids, true, &again);
  CHECK(bit_equal(fx, x));
  CHECK_FALSE(fx.requires_grad());
}

TEST_CASE("LstmReg DropConnect on the hidden-to-hidden weights", "[lstm_reg]") {
  LstmRegConfig c = small_config(30, 5, 4, 3);
  c.embed_droprate = 0;
  c.dropout = 0;
  c.wdrop = 0.4;
  const int64_t G = 16, H = 4;
  const Tensor ids = ids_tensor({3, 7, 9, 11, 2, 5, 4, 8, 21, 6, 0, 0, 12, 13, 0, 0, 0, 0}, {3, 6});
  const Tensor lengths = ids_tensor({6, 4, 2}, {3});
  const Tensor labels = ids_tensor({2, 0, 1}, {3});
  const LstmReg m(c, 5, DType::F64);
  const LstmRegOutput eval = m.forward(ids, lengths);

  // Evaluation is the identity: the same weights without DropConnect, even run in training mode, agree.
  LstmRegConfig c0 = c;
  c0.wdrop = 0;
  const LstmReg plain(c0, 5, DType::F64);
  RngStream unused{11, 0};
  CHECK(bit_equal(plain.forward(ids, lengths, true, &unused).logits, eval.logits));
  CHECK(unused.offset == 0);  // nothing to draw

  // "both": the two directions change; "forward" (hedwig): only weight_hh_l0 does.
  RngStream r1{11, 0};
  const LstmRegOutput both = m.forward(ids, lengths, true, &r1);
  CHECK(r1.offset == 2 * (G * H / 4));
  CHECK_FALSE(bit_equal(last_dim_slice(both.rnn_out, 0, H), last_dim_slice(eval.rnn_out, 0, H)));
  CHECK_FALSE(bit_equal(last_dim_slice(both.rnn_out, H, H), last_dim_slice(eval.rnn_out, H, H)));
  LstmRegConfig cf = c;
  cf.wdrop_directions = WdropDirections::Forward;
  const LstmReg fwd_only(cf, 5, DType::F64);
  RngStream r2{11, 0};
  const LstmRegOutput fwd = fwd_only.forward(ids, lengths, true, &r2);
  CHECK(r2.offset == G * H / 4);
  CHECK_FALSE(bit_equal(last_dim_slice(fwd.rnn_out, 0, H), last_dim_slice(eval.rnn_out, 0, H)));
  CHECK(bit_equal(last_dim_slice(fwd.rnn_out, H, H), last_dim_slice(eval.rnn_out, H, H)));

  // Training equals evaluating the same model whose w_hh are dropout(w_hh) with the documented counters, and the
  // raw weights' gradient is that model's gradient through the same mask and scale (no cut at the dropped copy).
  RngStream counters{11, 0};
  const uint64_t off[2] = {counters.take(G * H), counters.take(G * H)};
  LstmReg dropped(c0, 5, DType::F64);
  for (const char* name : {"lstm.weight_hh_l0", "lstm.weight_hh_l0_reverse"}) {
    Tensor w = dropped.params().get(name);
    const uint64_t o = off[std::strcmp(name, "lstm.weight_hh_l0") == 0 ? 0 : 1];
    w.copy_from(dropout(m.params().get(name).detach(), c.wdrop, 11, o, true));
  }
  CHECK(bit_equal(dropped.forward(ids, lengths).logits, both.logits));
  m.loss(both, labels).backward();  // releases the tape: the reference's forward runs after it
  dropped.loss(dropped.forward(ids, lengths), labels).backward();
  for (const char* name : {"lstm.weight_hh_l0", "lstm.weight_hh_l0_reverse"}) {
    INFO(name);
    const uint64_t o = off[std::strcmp(name, "lstm.weight_hh_l0") == 0 ? 0 : 1];
    const Tensor& g = m.params().get(name).grad();
    CHECK(max_abs(g) > 1e-4);
    check_close(g, dropout(dropped.params().get(name).grad(), c.wdrop, 11, o, true), 1e-15, Tol::Relative, name);
  }
}

TEST_CASE("LstmReg init, classifier dropout and parameter counts", "[lstm_reg]") {
  LstmRegConfig c = small_config(40, 6, 5, 3);
  const LstmReg m(c, 9);
  std::vector<std::string> names;
  for (const NamedTensor& p : m.params().all()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                          "lstm.bias_hh_l0", "lstm.weight_ih_l0_reverse", "lstm.weight_hh_l0_reverse",
                                          "lstm.bias_ih_l0_reverse", "lstm.bias_hh_l0_reverse", "fc1.weight",
                                          "fc1.bias"});
  CHECK(m.params().get("lstm.weight_ih_l0").shape() == Shape{20, 6});
  CHECK(m.params().get("lstm.weight_hh_l0_reverse").shape() == Shape{20, 5});
  CHECK(m.params().get("fc1.weight").shape() == Shape{3, 10});
  CHECK(m.labels() == std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"});
  // Bounds: embed 0.25 (hedwig's rand), LSTM 1/sqrt(H), fc1 1/sqrt(D*H); in the larger tensors the largest draw
  // comes near its bound (a wrong range would not).
  const auto check_bound = [&](const std::string& name, double bound) {
    INFO(name);
    const double mx = max_abs(m.params().get(name));
    CHECK(mx <= bound);
    if (m.params().get(name).numel() >= 30) CHECK(mx > 0.8 * bound);
  };
  check_bound("embed.weight", 0.25);
  for (const char* n : {"lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0_reverse"})
    check_bound(n, 1 / std::sqrt(5.0));
  check_bound("fc1.weight", 1 / std::sqrt(10.0));
  check_bound("fc1.bias", 1 / std::sqrt(10.0));
  CHECK(row(m.params().get("embed.weight"), 0) == std::vector<double>(6, 0.0));  // [PAD]
  const LstmReg same(c, 9), other(c, 10);
  for (const NamedTensor& p : m.params().all()) {
    INFO(p.name);
    CHECK(bit_equal(p.tensor, same.params().get(p.name)));
    CHECK_FALSE(bit_equal(p.tensor, other.params().get(p.name)));
  }

  // Classifier dropout alone: training differs from eval, the same stream repeats, B*D*H counters are drawn.
  c.embed_droprate = c.wdrop = 0;
  const LstmReg d(c, 9);
  const Tensor ids = ids_tensor({3, 7, 9, 11, 2, 5}, {2, 3}), lengths = ids_tensor({3, 2}, {2});
  RngStream r1{4, 0}, r2{4, 0};
  const Tensor t1 = d.forward(ids, lengths, true, &r1).logits;
  CHECK(r1.offset == 2 * 10 / 4);
  CHECK(bit_equal(t1, d.forward(ids, lengths, true, &r2).logits));
  CHECK_FALSE(bit_equal(t1, d.forward(ids, lengths).logits));
  CHECK_THROWS_WITH(d.forward(ids, lengths, true), Contains("training needs a dropout RngStream"));

  // DocBERT's count (BiLSTM + classifier, static embeddings excluded): E 300, H 512, Reuters' 90 labels.
  LstmRegConfig paper = small_config(10, 300, 512, 90);
  const LstmReg big(paper, 1);
  CHECK(big.num_parameters(false) == 3426394);
  CHECK(big.num_parameters(true) == 3426394 + 10 * 300);

  // One direction: no "_reverse" tensors, fc1 reads H features.
  paper = small_config(12, 4, 3, 2);
  paper.bidirectional = false;
  const LstmReg uni(paper, 1);
  CHECK(uni.params().size() == 7);
  CHECK_FALSE(uni.params().contains("lstm.weight_ih_l0_reverse"));
  CHECK(uni.params().get("fc1.weight").shape() == Shape{2, 3});
  CHECK(uni.forward(ids, lengths).rnn_out.shape() == Shape{2, 3, 3});
  CHECK(uni.num_parameters(false) == 12 * (4 + 3 + 2) + 2 * 3 + 2);
}

TEST_CASE("LstmReg gradients match finite differences (f64, training with every regulariser)", "[lstm_reg]") {
  for (const ProblemType problem : {ProblemType::SingleLabel, ProblemType::MultiLabel}) {
    INFO(problem_type_name(problem));
    LstmRegConfig c = small_config(10, 3, 3, 3);
    c.problem_type = problem;
    c.embed_droprate = c.wdrop = c.dropout = 0.3;
    c.tar = 0.5;
    c.ar = 0.2;
    const LstmReg m(c, 13, DType::F64);
    const Tensor ids = ids_tensor({1, 4, 7, 4, 9, 2, 3, 0, 0, 0, 5, 8, 6, 1, 0}, {3, 5});
    const Tensor lengths = ids_tensor({5, 2, 4}, {3});
    Tensor labels = ids_tensor({2, 0, 1}, {3});
    if (problem == ProblemType::MultiLabel) labels = Tensor::from_vector<double>({1, 0, 1, 0, 0, 1, 1, 1, 0}, {3, 3});
    // The masks are a function of the stream's state, so every evaluation sees the same ones.
    const auto loss = [&] {
      RngStream rng{17, 0};
      return m.loss(m.forward(ids, lengths, true, &rng), labels);
    };
    loss().backward();
    // Central differences on every element; error relative to max(|analytic|, |numeric|, 1e-3), as the op table.
    constexpr double eps = 1e-5;
    double worst = 0;
    std::string where;
    NoGradGuard no_grad;
    for (const NamedTensor& p : m.params().all()) {
      double* x = Tensor(p.tensor).data<double>();
      const double* g = p.tensor.grad().data<double>();
      for (int64_t i = 0; i < p.tensor.numel(); ++i) {
        const double x0 = x[i];
        x[i] = x0 + eps;
        const double up = loss().item();
        x[i] = x0 - eps;
        const double down = loss().item();
        x[i] = x0;
        const double numeric = (up - down) / (2 * eps);
        const double err = std::abs(g[i] - numeric) / std::max({std::abs(g[i]), std::abs(numeric), 1e-3});
        if (err > worst) worst = err, where = p.name + "[" + std::to_string(i) + "]";
      }
    }
    INFO("worst at " << where);
    CHECK(worst < 1e-7);
  }
}

TEST_CASE("LstmReg regularization: TAR and AR terms", "[lstm_reg]") {
  LstmRegConfig c = small_config(12, 3, 2, 2);
  const LstmReg none(c, 1, DType::F64);
  const Tensor ids = ids_tensor({3, 4, 5, 6, 0, 0}, {2, 3}), lengths = ids_tensor({3, 1}, {2});
  const LstmRegOutput out = none.forward(ids, lengths);
  CHECK(none.regularization(out).item() == 0);
  // Hand-computed means over (B, T', D*H) of the outputs, padded zeros included.
  const std::vector<double> h = out.rnn_out.to_vector<double>();
  double ar = 0, tar = 0;
  for (double v : h) ar += v * v;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t + 1 < 3; ++t)
      for (int64_t j = 0; j < 4; ++j) tar += std::pow(h[(b * 3 + t + 1) * 4 + j] - h[(b * 3 + t) * 4 + j], 2);
  c.tar = 2;
  c.ar = 3;
  const LstmReg both(c, 1, DType::F64);
  CHECK(both.regularization(out).item() == Approx(2 * tar / 16 + 3 * ar / 24).epsilon(1e-12));
  // A batch of one-word documents has no step to difference: TAR is 0, not PyTorch's NaN.
  const LstmRegOutput one = both.forward(ids_tensor({3, 5}, {2, 1}), ids_tensor({1, 1}, {2}));
  const std::vector<double> h1 = one.rnn_out.to_vector<double>();
  double ar1 = 0;
  for (double v : h1) ar1 += v * v;
  CHECK(both.regularization(one).item() == Approx(3 * ar1 / 8).epsilon(1e-12));
}

TEST_CASE("LstmReg save_pretrained / from_pretrained round trip", "[lstm_reg]") {
  ScratchDir dir;
  LstmRegConfig c = small_config(25, 4, 3, 3);
  c.problem_type = ProblemType::MultiLabel;
  c.labels = {"acq", "earn", "grain"};
  c.freeze_embeddings = true;
  c.wdrop_directions = WdropDirections::Forward;
  c.tar = 1.5;
  c.pad_id = 1;
  const LstmReg m(c, 4);
  m.save_pretrained(dir.file("student"));
  dir.write("student/vocab.txt", "[PAD]\n[UNK]\n");
  m.save_pretrained(dir.file("student"));  // over an existing folder: its vocabulary stays
  CHECK(std::filesystem::exists(dir.file("student/vocab.txt")));
  CHECK_FALSE(std::filesystem::exists(dir.file("student/config.json.tmp")));

  const LstmReg back = LstmReg::from_pretrained(dir.file("student"));
  CHECK(back.config().to_json() == m.config().to_json());
  CHECK(back.labels() == c.labels);
  CHECK(back.config().problem_type == ProblemType::MultiLabel);
  CHECK(back.config().wdrop_directions == WdropDirections::Forward);
  CHECK_FALSE(back.params().get("embed.weight").requires_grad());
  REQUIRE(back.params().size() == m.params().size());
  for (const NamedTensor& p : m.params().all()) {
    INFO(p.name);
    CHECK(bit_equal(back.params().get(p.name), p.tensor));
  }
  const Tensor ids = ids_tensor({3, 7, 9, 11, 2, 5, 6, 0}, {2, 4}), lengths = ids_tensor({4, 3}, {2});
  CHECK(bit_equal(back.forward(ids, lengths).logits, m.forward(ids, lengths).logits));
  const LstmReg back64 = LstmReg::from_pretrained(dir.file("student"), DType::F64);
  check_close(back64.forward(ids, lengths).logits, m.forward(ids, lengths).logits.to(DType::F64), 1e-6, Tol::Absolute,
              "f64 logits");

  const nlohmann::json j = nlohmann::json::parse(read_file(dir.file("student/config.json"), "config"));
  CHECK(j["model_type"] == "lstm_reg");
  CHECK(j["labels"] == nlohmann::json({"acq", "earn", "grain"}));
  CHECK(j["problem_type"] == "multi_label_classification");
  CHECK(j["wdrop_directions"] == "forward");
  CHECK(j["freeze_embeddings"] == true);
  CHECK(j["pad_id"] == 1);
}

TEST_CASE("LstmReg config, checkpoint and argument errors", "[lstm_reg]") {
  const auto parse = [](const std::string& body) {
    return LstmRegConfig::from_json("{\"vocab_size\": 10, \"num_labels\": 2" + body + "}", "cfg.json");
  };
  const LstmRegConfig ok = parse(", \"labels\": [\"a\", \"b\"], \"bidirectional\": false");
  CHECK(ok.embed_dim == 300);
  CHECK(ok.hidden == 512);
  CHECK_FALSE(ok.bidirectional);
  CHECK(ok.labels == std::vector<std::string>{"a", "b"});
  CHECK(LstmRegConfig::from_json(ok.to_json(), "x").to_json() == ok.to_json());
  CHECK_THROWS_WITH(parse(", \"hiden\": 5"), Contains("cfg.json: unknown key 'hiden'"));
  CHECK_THROWS_WITH(LstmRegConfig::from_json("{\"num_labels\": 2}", "cfg.json"),
                    Contains("cfg.json: missing required key 'vocab_size'"));
  CHECK_THROWS_WITH(parse(", \"hidden\": \"512\""), Contains("cfg.json: 'hidden' must be an integer, got \"512\""));
  CHECK_THROWS_WITH(parse(", \"bidirectional\": 1"), Contains("'bidirectional' must be true or false"));
  CHECK_THROWS_WITH(parse(", \"labels\": [\"a\", 3]"), Contains("'labels' must be a list of strings"));
  CHECK_THROWS_WITH(parse(", \"labels\": [\"a\"]"), Contains("'num_labels' is 2 but 'labels' has 1 names"));
  CHECK_THROWS_WITH(parse(", \"labels\": [\"a\", \"a\"]"), Contains("'labels' must be unique"));
  CHECK_THROWS_WITH(parse(", \"wdrop_directions\": \"reverse\""),
                    Contains("cfg.json: 'wdrop_directions' is 'reverse' (expected both or forward)"));
  CHECK_THROWS_WITH(parse(", \"dropout\": 1.0"), Contains("'dropout' must be in [0, 1), got 1"));
  CHECK_THROWS_WITH(parse(", \"tar\": -1"), Contains("'tar' must be >= 0"));
  CHECK_THROWS_WITH(parse(", \"pad_id\": 10"), Contains("'pad_id' (10) must be -1 or lie in [0, 'vocab_size' = 10)"));
  CHECK_THROWS_WITH(parse(", \"model_type\": \"bert\""), Contains("'model_type' is 'bert'; this model is 'lstm_reg'"));
  CHECK_THROWS_WITH(parse(", \"problem_type\": \"regression\""), Contains("cfg.json: unknown problem type"));
  CHECK_THROWS_WITH(LstmRegConfig::from_json("[1]", "cfg.json"), Contains("cfg.json: expected a JSON object"));
  CHECK_THROWS_WITH(LstmRegConfig::from_json("{", "cfg.json"), Contains("cfg.json: malformed JSON"));

  // Checkpoints: a missing tensor, one the model lacks, one of the wrong shape.
  ScratchDir dir;
  const LstmReg m(small_config(20, 4, 3, 2), 1);
  m.save_pretrained(dir.file("m"));
  const std::string weights = dir.file("m/model.safetensors");
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& p : m.params().all())
    if (p.name != "fc1.bias") tensors.push_back(p);
  save_safetensors(weights, tensors);
  CHECK_THROWS_WITH(LstmReg::from_pretrained(dir.file("m")), Contains("missing LSTM_reg tensors: fc1.bias"));
  tensors = m.params().all();
  tensors.push_back({"lstm.weight_ih_l1", Tensor::zeros({12, 3})});
  save_safetensors(weights, tensors);
  CHECK_THROWS_WITH(LstmReg::from_pretrained(dir.file("m")),
                    Contains("tensors an LSTM_reg model with this config.json does not have: lstm.weight_ih_l1"));
  dir.write("m/config.json", "{\"vocab_size\": 20, \"embed_dim\": 4, \"hidden\": 5, \"num_labels\": 2}");
  CHECK_THROWS_WITH(LstmReg::from_pretrained(dir.file("m")),
                    Contains("tensor 'lstm.weight_ih_l0' has shape (12,4) but config.json makes it (20,4)"));
  CHECK_THROWS_WITH(LstmReg::from_pretrained(dir.file("none")),
                    Contains("none/config.json: LSTM_reg config not found"));

  // Arguments.
  const Tensor ids = ids_tensor({3, 7, 9, 11}, {2, 2});
  CHECK_THROWS_WITH(m.forward(ids, ids_tensor({2, 3}, {2})), Contains("lengths[1] = 3 is outside [1, 3)"));
  CHECK_THROWS_WITH(m.forward(ids, ids_tensor({2}, {1})), Contains("'lengths' (1) must have one entry per row"));
  CHECK_THROWS_WITH(m.forward(ids_tensor({1, 2}, {2}), ids_tensor({1}, {1})), Contains("ids"));
  CHECK_THROWS_WITH(m.forward(ids_tensor({1, 25}, {1, 2}), ids_tensor({2}, {1})), Contains("25"));
  const Tensor logits = m.forward(ids, ids_tensor({2, 1}, {2})).logits;
  CHECK_THROWS_WITH(m.task_loss(logits, Tensor::zeros({2, 2})),
                    Contains("single_label_classification takes (B) integer class indices"));
  LstmRegConfig ml = small_config(20, 4, 3, 2);
  ml.problem_type = ProblemType::MultiLabel;
  CHECK_THROWS_WITH(LstmReg(ml, 1).task_loss(logits, ids_tensor({1, 0}, {2})),
                    Contains("multi_label_classification takes (B, K) float"));
  CHECK_THROWS_WITH(LstmReg(ml, 1, DType::BF16), Contains("dtype must be f32 or f64"));
}

TEST_CASE("init_from_word_vectors: word2vec text and binary, GloVe, OOV and lower-case rules",
          "[lstm_reg][embeddings]") {
  ScratchDir dir;
  const std::vector<std::string> vocab = {"[PAD]", "[UNK]", "the", "paris", "london", "zzz", "berlin", "Rome"};
  // "Paris" -> paris and "rome" -> Rome by lower case; berlin's exact vector wins over the earlier "Berlin";
  // a trailing blank (word2vec's writer) and a CRLF line are accepted.
  const std::string text =
      "6 3\n"
      "the 0.5 -0.25 1\n"
      "Paris 1 2 3\n"
      "london -1 -2 -3 \n"
      "Berlin 4 5 6\r\n"
      "berlin 7 8 9\n"
      "rome 0.125 0.25 0.375\n";
  const std::string txt = dir.write("vec.txt", text);
  Tensor table = Tensor::full({8, 3}, 9.0);
  RngStream rng{1, 0};
  const WordVectorsReport r = init_from_word_vectors(table, vocab, txt, rng);
  CHECK(r.format == "text");
  CHECK(r.file_vectors == 6);
  CHECK(r.exact == 3);
  CHECK(r.lowercase == 2);
  CHECK(r.found() == 5);
  CHECK(r.missing_ids == std::vector<int64_t>{1, 5});
  CHECK(row(table, 0) == std::vector<double>{0, 0, 0});
  CHECK(row(table, 2) == std::vector<double>{0.5, -0.25, 1});
  CHECK(row(table, 3) == std::vector<double>{1, 2, 3});
  CHECK(row(table, 4) == std::vector<double>{-1, -2, -3});
  CHECK(row(table, 6) == std::vector<double>{7, 8, 9});
  CHECK(row(table, 7) == std::vector<double>{0.125, 0.25, 0.375});
  // hedwig's UnknownWordVecCache: one random vector for [UNK] and zzz alike.
  const std::vector<double> oov = row(table, 1);
  CHECK(row(table, 5) == oov);
  for (double v : oov) CHECK((v >= -0.25 && v < 0.25 && v != 0));
  CHECK(rng.offset == 1);  // E = 3 draws: one Philox counter

  // Exact matches only (torchtext) and a vector per missing word.
  Tensor exact = Tensor::zeros({8, 3});
  RngStream rng2{1, 0};
  WordVectorsOptions o;
  o.lowercase_fallback = false;
  o.oov = OovInit::PerWordRandom;
  const WordVectorsReport r2 = init_from_word_vectors(exact, vocab, txt, rng2, o);
  CHECK(r2.exact == 3);
  CHECK(r2.lowercase == 0);
  CHECK(r2.missing_ids == std::vector<int64_t>{1, 3, 5, 7});
  std::set<std::vector<double>> distinct;
  for (int64_t id : r2.missing_ids) distinct.insert(row(exact, id));
  CHECK(distinct.size() == 4);
  CHECK(row(exact, 6) == std::vector<double>{7, 8, 9});

  // The same vectors in word2vec's binary format, with and without the '\n' after each record, and as GloVe text
  // (no header): the same table.
  const std::vector<std::pair<std::string, std::vector<float>>> words = {
      {"the", {0.5f, -0.25f, 1}}, {"Paris", {1, 2, 3}},  {"london", {-1, -2, -3}},
      {"Berlin", {4, 5, 6}},      {"berlin", {7, 8, 9}}, {"rome", {0.125f, 0.25f, 0.375f}}};
  for (const bool newline : {true, false}) {
    std::string bin = "6 3\n";
    for (const auto& [w, v] : words) bin += w + " " + f32_bytes({v[0], v[1], v[2]}) + (newline ? "\n" : "");
    Tensor t = Tensor::full({8, 3}, 9.0);
    RngStream rb{1, 0};
    const WordVectorsReport rbin = init_from_word_vectors(t, vocab, dir.write("vec.bin", bin), rb);
    CHECK(rbin.format == "binary");
    CHECK(rbin.file_vectors == 6);
    CHECK(rbin.missing_ids == r.missing_ids);
    CHECK(bit_equal(t, table));
  }
  Tensor glove = Tensor::full({8, 3}, 9.0, DType::F64);
  RngStream rg{1, 0};
  const WordVectorsReport rglove =
      init_from_word_vectors(glove, vocab, dir.write("glove.txt", text.substr(text.find('\n') + 1)), rg);
  CHECK(rglove.format == "text");
  CHECK(rglove.file_vectors == 6);
  CHECK(bit_equal(glove.to(DType::F32), table));

  // A model's own table, and no pad row.
  LstmReg m(small_config(8, 3, 2, 2), 1);
  RngStream rm{1, 0};
  o.pad_id = -1;
  const WordVectorsReport rm_report = init_from_word_vectors(m.embeddings(), vocab, txt, rm, o);
  CHECK(rm_report.missing_ids == std::vector<int64_t>{0, 1, 3, 5, 7});
  CHECK(row(m.params().get("embed.weight"), 2) == std::vector<double>{0.5, -0.25, 1});
}

TEST_CASE("init_from_word_vectors: bad files fail with file:line", "[lstm_reg][embeddings]") {
  ScratchDir dir;
  const std::vector<std::string> vocab = {"[PAD]", "[UNK]", "the", "paris"};
  Tensor table = Tensor::zeros({4, 3});
  const auto load = [&](const std::string& name, const std::string& content) {
    RngStream rng{1, 0};
    return init_from_word_vectors(table, vocab, dir.write(name, content), rng);
  };
  CHECK_THROWS_WITH(load("a.txt", "2 4\nthe 1 2 3 4\n"),
                    Contains("a.txt:1: the header announces 4-dimensional vectors but the table has embed_dim 3"));
  CHECK_THROWS_WITH(load("b.txt", "the 1 2\n"),
                    Contains("b.txt:1: the vectors have 2 values but the table has embed_dim 3"));
  CHECK_THROWS_WITH(load("c.txt", "the 1 2 3\nother 1 2\n"), Contains("c.txt:2: 'other' has 2 values, expected 3"));
  CHECK_THROWS_WITH(load("d.txt", "2 3\nthe 1 2 3\nparis 1 x 3\n"),
                    Contains("d.txt:3: value 2 of 'paris' is not a number: 'x'"));
  CHECK_THROWS_WITH(load("e.txt", "the 1 2 nan\n"), Contains("e.txt:1: value 3 of 'the' is not finite: 'nan'"));
  CHECK_THROWS_WITH(load("f.txt", "3 3\nthe 1 2 3\n"),
                    Contains("f.txt: the header announces 3 vectors but the file has 1"));
  CHECK_THROWS_WITH(load("g.txt", "the 1 2 3\n\nparis 1 2 3\n"), Contains("g.txt:2: empty line"));
  CHECK_THROWS_WITH(load("h.txt", ""), Contains("h.txt: the word-vector file is empty"));
  CHECK_THROWS_WITH(load("i.bin", "2 3\nthe " + f32_bytes({1, 2, 3}) + "\nparis " + f32_bytes({1}).substr(0, 3)),
                    Contains("i.bin: word2vec binary vector 2 of 2 ('paris', byte 21): truncated: 3 of its 12 bytes"));
  CHECK_THROWS_WITH(
      load("j.bin", "2 3\nthe " + f32_bytes({1, 2, 3}) + "\n"),
      Contains("j.bin: word2vec binary vector 2 of 2 (byte 21): truncated: the file ends before the word"));
  CHECK_THROWS_WITH(load("k.bin", "1 3\nthe " + f32_bytes({1, 2, 3}) + "\nextra"),
                    Contains("k.bin: word2vec binary: more data after the 1 vectors the header announces (byte 21)"));
  CHECK_THROWS_WITH(load("l.bin", "1 3\nthe " + f32_bytes({1, NAN, 3})),
                    Contains("l.bin: word2vec binary vector 1 ('the', byte 4): value 2 is not finite"));
  RngStream rng{1, 0};
  CHECK_THROWS_WITH(init_from_word_vectors(table, vocab, dir.file("missing.txt"), rng),
                    Contains("missing.txt: word-vector file not found"));
  const std::string ok = dir.write("ok.txt", "the 1 2 3\n");
  CHECK_THROWS_WITH(init_from_word_vectors(table, {"[PAD]", "the", "the", "x"}, ok, rng),
                    Contains("the vocabulary has 'the' twice (ids 1 and 2)"));
  CHECK_THROWS_WITH(init_from_word_vectors(table, {"[PAD]", "the"}, ok, rng),
                    Contains("'table' (4,3) must have one row per vocabulary word (2)"));
}

TEST_CASE("Embeddings from random init and from the teacher's table", "[lstm_reg][embeddings]") {
  Tensor r = Tensor::full({50, 4}, 9.0);
  RngStream rng{2, 0};
  init_random_embeddings(r, rng, 3);
  CHECK(row(r, 3) == std::vector<double>(4, 0.0));
  CHECK(max_abs(r) <= 0.25);
  CHECK(max_abs(r) > 0.2);
  CHECK(rng.offset == 50);

  ScratchDir dir;
  const tok::WordPiece wp = tok::WordPiece::from_vocab(
      dir.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nplay\n##ing\nun\n##known\n"));
  // Teacher row v = (v + 1, 2 (v + 1), -(v + 1) / 2).
  std::vector<double> t;
  for (int v = 0; v < 10; ++v) t.insert(t.end(), {v + 1.0, 2 * (v + 1.0), -(v + 1.0) / 2});
  const Tensor teacher = Tensor::from_vector(t, {10, 3});

  // A WordPiece student copies the rows, the pad row then zeroed.
  Tensor copy = Tensor::zeros({10, 3});
  init_from_teacher_rows(copy, teacher, 0);
  CHECK(row(copy, 0) == std::vector<double>{0, 0, 0});
  CHECK(row(copy, 7) == std::vector<double>{8, 16, -4});
  CHECK_THROWS_WITH(init_from_teacher_rows(r, teacher, 0), Contains("shape mismatch"));

  // A word student averages each word's pieces; "xyzzy" and a word BERT's cleaner empties are [UNK].
  const std::vector<std::string> words = {"[PAD]", "[UNK]", "the", "Playing", "unknown", "xyzzy", "[MASK]", "\x01"};
  Tensor table = Tensor::zeros({8, 3}, DType::F64);
  const TeacherPiecesReport report = init_from_teacher_pieces(table, words, teacher, wp, 0);
  CHECK(report.unknown == 2);
  CHECK(row(table, 0) == std::vector<double>{0, 0, 0});
  CHECK(row(table, 1) == std::vector<double>{2, 4, -1});
  CHECK(row(table, 2) == std::vector<double>{6, 12, -3});       // the = id 5
  CHECK(row(table, 3) == std::vector<double>{7.5, 15, -3.75});  // play (6) + ##ing (7)
  CHECK(row(table, 4) == std::vector<double>{9.5, 19, -4.75});  // un (8) + ##known (9)
  CHECK(row(table, 5) == std::vector<double>{2, 4, -1});
  CHECK(row(table, 6) == std::vector<double>{5, 10, -2.5});  // [MASK] = id 4
  CHECK(row(table, 7) == std::vector<double>{2, 4, -1});
  Tensor wide = Tensor::zeros({8, 4});
  CHECK_THROWS_WITH(init_from_teacher_pieces(wide, words, teacher, wp, 0),
                    Contains("'teacher_table' (10,3) must be (teacher vocabulary 10, embed_dim 4)"));
}
