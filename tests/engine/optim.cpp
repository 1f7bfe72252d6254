// Optimizers, clipping, schedules and EMA (engine/optim.h). Expected values are the formulas of optim.h written
// out for one or two steps on a few scalars; the multi-step PyTorch comparison is in golden_adamw.cpp.
#include "engine/optim.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "tests/op_table.h"
#include "tests/test_support.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>

using namespace docbert;

namespace {

Tensor vec(const std::vector<double>& v, DType dtype = DType::F64) {
  return Tensor::from_vector<double>(v, {static_cast<int64_t>(v.size())}).to(dtype);
}

void set_grad(Tensor p, const std::vector<double>& g) {
  p.grad_buffer().copy_from(Tensor::from_vector<double>(g, p.shape()).to(p.dtype()));
}

// f64 results of a few flops on O(1) values: a handful of ulp.
constexpr double kTight = 1e-14;

// A model of `count` parameters with sizes around the multi-tensor chunk (kernels/optim.h: 16384 elements) and
// the tiny ones of biases, names that the no-decay rule sorts both ways, uniform values; f32 on `device`, or runs
// of f32 and f64 on the CPU when `mixed`.
void many_params(ParameterRegistry& reg, int count, Device device, bool mixed = false) {
  const int64_t sizes[] = {0, 1, 3, 4, 5, 16384, 16385, 4100};
  RngStream rng{11, 0};
  for (int k = 0; k < count; ++k) {
    Tensor t = Tensor::empty({sizes[k % 8]}, DType::F64);
    uniform_fill(t, -1, 1, rng);
    const DType dt = mixed && k >= 60 && k < 80 ? DType::F64 : DType::F32;
    reg.add(fmt::format("layer{}.{}", k, k % 3 ? "weight" : "bias"), t.to(dt).to(device));
  }
}

// Step k's gradients: uniform, except that every 11th parameter gets none.
void many_grads(ParameterRegistry& reg, int step) {
  RngStream rng{100 + static_cast<uint64_t>(step), 0};
  reg.zero_grad();
  for (size_t k = 0; k < reg.size(); ++k) {
    Tensor p = reg.all()[k].tensor;
    Tensor g = Tensor::empty(p.shape(), DType::F64);
    uniform_fill(g, -2, 2, rng);
    if (k % 11 != 5) p.grad_buffer().copy_from(g.to(p.dtype()).to(p.device()));
  }
}

}  // namespace

TEST_CASE("optim: BERT's no-decay rule", "[optim]") {
  CHECK(no_decay_for_bias_and_layernorm("bert.embeddings.word_embeddings.weight"));
  CHECK(no_decay_for_bias_and_layernorm("bert.encoder.layer.0.attention.self.query.weight"));
  CHECK(no_decay_for_bias_and_layernorm("classifier.weight"));
  CHECK_FALSE(no_decay_for_bias_and_layernorm("bert.encoder.layer.0.attention.self.query.bias"));
  CHECK_FALSE(no_decay_for_bias_and_layernorm("bert.embeddings.LayerNorm.weight"));
  CHECK_FALSE(no_decay_for_bias_and_layernorm("bert.embeddings.LayerNorm.bias"));
  CHECK_FALSE(no_decay_for_bias_and_layernorm("encoder.layer_norm.weight"));
  CHECK_FALSE(no_decay_for_bias_and_layernorm("attention.output.LayerNorm.gamma"));
  CHECK_FALSE(no_decay_for_bias_and_layernorm("ln.beta"));
  CHECK_FALSE(no_decay_for_bias_and_layernorm("lstm.bias_ih_l0"));  // hedwig's substring test
}

TEST_CASE("parameters: registry names, aliases and dtypes", "[optim]") {
  ParameterRegistry reg;
  Tensor w = reg.add("enc.w", Tensor::zeros({2, 3}, DType::F32));
  reg.add("enc.b", Tensor::zeros({3}, DType::F64));
  CHECK(w.requires_grad());
  CHECK(w.name() == "enc.w");
  CHECK(reg.numel() == 9);
  CHECK_THROWS_WITH(reg.add("enc.w", Tensor::zeros({1})), Catch::Contains("'enc.w' is registered twice"));
  // The same tensor under a second name would be clipped and stepped twice.
  CHECK_THROWS_WITH(reg.add("dec.w", w),
                    Catch::Contains("parameter registry: 'dec.w' is the tensor already registered as 'enc.w'"));
  ParameterRegistry child;
  child.add("w", w);
  CHECK_THROWS_WITH(reg.add_all("tied", child),
                    Catch::Contains("'tied.w' is the tensor already registered as 'enc.w'"));
  // Master weights are f32 (f64 in gradient checks), never bf16 or integers.
  CHECK_THROWS_WITH(reg.add("half", Tensor::zeros({2}, DType::BF16)),
                    Catch::Contains("parameter registry: 'half' must be f32 or f64, got bf16"));
  CHECK_THROWS_WITH(reg.add("ids", Tensor::zeros({2}, DType::I64)), Catch::Contains("'ids' must be f32 or f64"));
  CHECK_THROWS_WITH(reg.add("none", Tensor()), Catch::Contains("'none' is undefined"));
  CHECK_THROWS_WITH(reg.add("", Tensor::zeros({1})), Catch::Contains("empty parameter name"));
  CHECK(reg.size() == 2);  // nothing was added by the failures
}

TEST_CASE("optim: AdamW single steps by hand, with and without bias correction", "[optim]") {
  const double lr = 0.1, wd = 0.01, eps = 1e-6, b1 = 0.9, b2 = 0.999;
  const double w0 = 0.7, bias0 = -0.3, ln0 = 1.2;  // initial values
  const double gw = 0.5, gb = -0.25, gl = 0.125;   // first gradients
  const double gw2 = -0.2;                         // second gradient of the weight
  for (bool bc : {true, false}) {
    DYNAMIC_SECTION("bias_correction " << bc) {
      ParameterRegistry reg;
      Tensor w = reg.add("enc.dense.weight", vec({w0}));
      Tensor b = reg.add("enc.dense.bias", vec({bias0}));
      Tensor ln = reg.add("enc.LayerNorm.weight", vec({ln0}));
      Tensor frozen = reg.add("enc.frozen.weight", vec({2.0}));  // no grad: skipped
      AdamWConfig cfg;
      cfg.lr = lr;
      cfg.weight_decay = wd;
      cfg.bias_correction = bc;
      AdamW opt(reg, cfg);
      set_grad(w, {gw});
      set_grad(b, {gb});
      set_grad(ln, {gl});
      opt.step();
      CHECK(opt.step_count() == 1);
      // Step 1: m = (1-b1) g, v = (1-b2) g^2; with bias correction m^ = g and v^ = g^2.
      auto adam_term = [&](double g) {
        double m = (1 - b1) * g, v = (1 - b2) * g * g;
        if (bc) {
          m /= 1 - b1;
          v /= 1 - b2;
        }
        return m / (std::sqrt(v) + eps);
      };
      const double w1 = w0 - lr * (adam_term(gw) + wd * w0);  // decayed
      CHECK(w.item() == Approx(w1).epsilon(kTight));
      CHECK(b.item() == Approx(bias0 - lr * adam_term(gb)).epsilon(kTight));  // ".bias": no decay
      CHECK(ln.item() == Approx(ln0 - lr * adam_term(gl)).epsilon(kTight));   // "LayerNorm": no decay
      CHECK(frozen.item() == 2.0);
      auto st = opt.state();
      REQUIRE(st.size() == 9);
      CHECK(st[0].name == "enc.dense.weight.exp_avg");
      CHECK(st[0].tensor.item() == Approx((1 - b1) * gw).epsilon(kTight));
      CHECK(st[1].name == "enc.dense.weight.exp_avg_sq");
      CHECK(st[1].tensor.item() == Approx((1 - b2) * gw * gw).epsilon(kTight));
      CHECK(st[7].tensor.item() == 0.0);  // the frozen parameter's state never moved
      CHECK(st[8].name == "step");
      CHECK(st[8].tensor.item() == 1.0);

      // Step 2 on the weight alone (the others keep their values and state): t = 2 in the bias correction.
      reg.zero_grad();
      set_grad(w, {gw2});
      opt.step(lr / 2);  // lr passed per step (a schedule)
      double m = b1 * (1 - b1) * gw + (1 - b1) * gw2;
      double v = b2 * (1 - b2) * gw * gw + (1 - b2) * gw2 * gw2;
      if (bc) {
        m /= 1 - b1 * b1;
        v /= 1 - b2 * b2;
      }
      CHECK(w.item() == Approx(w1 - lr / 2 * (m / (std::sqrt(v) + eps) + wd * w1)).epsilon(kTight));
      CHECK(b.item() == Approx(bias0 - lr * adam_term(gb)).epsilon(kTight));
    }
  }
}

TEST_CASE("optim: AdamW decay filter, f32 parameters", "[optim]") {
  ParameterRegistry reg;
  Tensor bias = reg.add("out.bias", vec({0.5, -0.5}, DType::F32));
  AdamWConfig cfg;
  cfg.lr = 0.1;
  cfg.weight_decay = 0.1;
  cfg.decay_filter = [](const std::string&) { return true; };  // decay everything, biases included
  AdamW opt(reg, cfg);
  set_grad(bias, {0.25, 0.25});
  opt.step();
  // f32 against the f64 formula: a few f32 ulp of O(1) values.
  auto got = bias.to_vector<float>();
  CHECK(got[0] == Approx(0.5 - 0.1 * (0.25 / (0.25 + 1e-6) + 0.1 * 0.5)).epsilon(1e-6));
  CHECK(got[1] == Approx(-0.5 - 0.1 * (0.25 / (0.25 + 1e-6) - 0.1 * 0.5)).epsilon(1e-6));
}

TEST_CASE("optim: AdamW in f32 follows f64 over several steps (threaded sizes)", "[optim]") {
  // (127,33) = 4191 elements: above parallel_for's grain, so the threaded path runs.
  RngStream rng{42, 0};
  Tensor init = Tensor::empty({127, 33}, DType::F64);
  uniform_fill(init, -1, 1, rng);
  std::vector<Tensor> grads;
  for (int k = 0; k < 3; ++k) {
    grads.push_back(Tensor::empty({127, 33}, DType::F64));
    uniform_fill(grads.back(), -1, 1, rng);
  }
  std::vector<Tensor> result;
  for (DType dt : {DType::F64, DType::F32}) {
    ParameterRegistry reg;
    Tensor w = reg.add("layer.weight", init.to(dt));
    AdamWConfig cfg;
    cfg.weight_decay = 0.01;
    AdamW opt(reg, cfg);
    for (const Tensor& g : grads) {
      w.grad_buffer().copy_from(g.to(dt));
      opt.step(0.05);
    }
    result.push_back(w.to(DType::F64));
  }
  // f32 rounding of O(1) values; m/(sqrt(v)+eps) can lose a few more bits when |g| is tiny.
  CHECK(test::max_abs_diff(result[0], result[1]) <= 1e-6);
}

TEST_CASE("optim: Adam puts L2 decay through the moments", "[optim]") {
  const double lr = 0.01, wd = 0.1, eps = 1e-8, b1 = 0.9, b2 = 0.999, p0 = 1.5, g1 = 0.2, g2 = -0.05;
  ParameterRegistry reg;
  Tensor p = reg.add("lstm.bias_ih_l0", vec({p0}));  // decayed although it is a bias: torch.optim.Adam decays all
  AdamConfig cfg;
  cfg.lr = lr;
  cfg.weight_decay = wd;
  Adam opt(reg, cfg);
  set_grad(p, {g1});
  opt.step();
  const double e1 = g1 + wd * p0;  // effective gradient; with bias correction step 1 is lr * e/(|e| + eps)
  const double p1 = p0 - lr * e1 / (std::abs(e1) + eps);
  CHECK(p.item() == Approx(p1).epsilon(kTight));
  set_grad(p, {g2});
  opt.step();
  const double e2 = g2 + wd * p1;
  const double m = (b1 * (1 - b1) * e1 + (1 - b1) * e2) / (1 - b1 * b1);
  const double v = (b2 * (1 - b2) * e1 * e1 + (1 - b2) * e2 * e2) / (1 - b2 * b2);
  CHECK(p.item() == Approx(p1 - lr * m / (std::sqrt(v) + eps)).epsilon(kTight));
  CHECK(opt.config().eps == 1e-8);
}

TEST_CASE("optim: optimizer errors", "[optim]") {
  {
    // Parameters are checked when the optimizer is built, not at every step. The registry refuses bf16, so
    // retype a registered tensor behind its back (its storage is large enough).
    ParameterRegistry retyped;
    Tensor p = retyped.add("p", Tensor::zeros({2}, DType::F32));
    p.impl()->dtype = DType::BF16;
    CHECK_THROWS_WITH(AdamW(retyped), Catch::Contains("AdamW: 'p' must be f32 or f64, got p bf16"));
    CHECK_THROWS_WITH(Adam(retyped), Catch::Contains("Adam: 'p' must be f32 or f64"));
  }
  ParameterRegistry reg;
  Tensor w = reg.add("w", Tensor::zeros({4, 3}, DType::F64));
  AdamW opt(reg);
  w.impl()->grad = Tensor::zeros({3, 4}, DType::F64);  // a gradient of the wrong shape
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("AdamW: shape mismatch: 'grad of w' is (3,4) but 'w' is (4,3)"));
  CHECK(opt.step_count() == 0);  // nothing happened
  w.impl()->grad = Tensor::zeros({4, 3}, DType::F32);
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("AdamW: dtype mismatch"));
  reg.add("late", Tensor::zeros({2}, DType::F64));
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("build it after the model"));
  AdamWConfig bad;
  bad.beta2 = 1.0;
  CHECK_THROWS_WITH(AdamW(reg, bad), Catch::Contains("AdamW: beta2 must be in [0, 1)"));
  AdamConfig bad_adam;
  bad_adam.weight_decay = -1;
  CHECK_THROWS_WITH(Adam(reg, bad_adam), Catch::Contains("Adam: weight_decay must be >= 0"));
}

TEST_CASE("optim: state round trip through safetensors and load errors", "[optim]") {
  auto make = [](ParameterRegistry& reg) {
    reg.add("enc.w", Tensor::from_vector<double>({0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, {2, 3}));
    reg.add("enc.bias", vec({0.05, -0.05, 0.0}));
  };
  auto grads = [](ParameterRegistry& reg, int k) {
    reg.zero_grad();
    set_grad(reg.get("enc.w"), {0.1 * k, -0.3, 0.2, 0.05 * k, -0.1, 0.4});
    set_grad(reg.get("enc.bias"), {0.2, -0.1 * k, 0.3});
  };
  AdamWConfig cfg;
  cfg.lr = 0.05;
  cfg.weight_decay = 0.01;
  ParameterRegistry a;
  make(a);
  AdamW opt_a(a, cfg);
  for (int k = 1; k <= 3; ++k) {
    grads(a, k);
    opt_a.step();
  }
  const std::string path = (std::filesystem::temp_directory_path() / "docbert_optim_state.safetensors").string();
  save_safetensors(path, opt_a.state());
  std::vector<NamedTensor> saved;
  for (auto& kv : load_safetensors(path)) saved.push_back({kv.first, kv.second});
  std::remove(path.c_str());

  // A second model with the same parameter values and the restored state continues identically (bitwise).
  ParameterRegistry b;
  make(b);
  for (size_t i = 0; i < a.size(); ++i) {
    Tensor t = b.all()[i].tensor;
    t.copy_from(a.all()[i].tensor);
  }
  AdamW opt_b(b, cfg);
  opt_b.load_state(saved);
  CHECK(opt_b.step_count() == 3);
  grads(a, 4);
  grads(b, 4);
  opt_a.step();
  opt_b.step();
  for (size_t i = 0; i < a.size(); ++i) CHECK(test::max_abs_diff(a.all()[i].tensor, b.all()[i].tensor) == 0.0);

  // Errors name the entry and both shapes; a failed load changes nothing.
  std::vector<NamedTensor> wrong = saved;
  for (NamedTensor& e : wrong)
    if (e.name == "enc.w.exp_avg") e.tensor = Tensor::zeros({3, 2}, DType::F64);
  const double before = opt_b.state()[0].tensor.to_vector<double>()[0];
  CHECK_THROWS_WITH(opt_b.load_state(wrong),
                    Catch::Contains("AdamW load_state: 'enc.w.exp_avg' is (3,2) but parameter 'enc.w' is (2,3)"));
  CHECK(opt_b.state()[0].tensor.to_vector<double>()[0] == before);
  CHECK(opt_b.step_count() == 4);
  std::vector<NamedTensor> missing(saved.begin() + 1, saved.end());
  CHECK_THROWS_WITH(opt_b.load_state(missing), Catch::Contains("missing entry '"));
  std::vector<NamedTensor> extra = saved;
  extra.push_back({"head.w.exp_avg", Tensor::zeros({2}, DType::F64)});
  CHECK_THROWS_WITH(opt_b.load_state(extra), Catch::Contains("unknown entry 'head.w.exp_avg'"));
  std::vector<NamedTensor> bad_step = saved;
  for (NamedTensor& e : bad_step)
    if (e.name == "step") e.tensor = Tensor::scalar(-1, DType::I64);
  CHECK_THROWS_WITH(opt_b.load_state(bad_step), Catch::Contains("'step' must be a non-negative integer"));
  // Infinite, fractional or huge steps are refused before the conversion to int64 (which would be UB).
  for (double v : {std::numeric_limits<double>::infinity(), 2.5, 1e300, 9007199254740994.0}) {
    for (NamedTensor& e : bad_step)
      if (e.name == "step") e.tensor = Tensor::scalar(v, DType::F64);
    CHECK_THROWS_WITH(opt_b.load_state(bad_step), Catch::Contains("'step' must be a non-negative integer <= 2^53"));
  }
  CHECK(opt_b.step_count() == 4);
  for (NamedTensor& e : bad_step)
    if (e.name == "step") e.tensor = Tensor::scalar(9007199254740992.0, DType::F64);
  opt_b.load_state(bad_step);
  CHECK(opt_b.step_count() == (int64_t{1} << 53));

  // State saved in another dtype is converted: f32 moments load into the f64 optimizer.
  std::vector<NamedTensor> as_f32 = saved;
  for (NamedTensor& e : as_f32)
    if (e.name != "step") e.tensor = e.tensor.to(DType::F32);
  AdamW opt_c(b, cfg);
  opt_c.load_state(as_f32);
  for (const NamedTensor& e : opt_c.state()) {
    if (e.name == "step") continue;
    INFO(e.name);
    CHECK(e.tensor.dtype() == DType::F64);
    for (const NamedTensor& f : as_f32)
      if (f.name == e.name) CHECK(test::max_abs_diff(e.tensor, f.tensor.to(DType::F64)) == 0.0);
  }
}

TEST_CASE("optim: gradient clipping", "[optim]") {
  ParameterRegistry reg;
  Tensor a = reg.add("a", Tensor::zeros({2}, DType::F64));
  Tensor b = reg.add("b", Tensor::zeros({1}, DType::F32));
  reg.add("no_grad", Tensor::zeros({3}, DType::F64));  // ignored
  auto reset = [&] {
    set_grad(a, {3, 0});
    set_grad(b, {4});  // global norm 5; per tensor 3 and 4
  };

  SECTION("global norm: scaled above the threshold") {
    reset();
    CHECK(clip_grad_norm(reg, 1.0) == Approx(5.0).epsilon(kTight));
    const double c = 1.0 / (5.0 + 1e-6);
    CHECK(a.grad().to_vector<double>()[0] == Approx(3 * c).epsilon(kTight));
    CHECK(a.grad().to_vector<double>()[1] == 0.0);
    CHECK(b.grad().to_vector<float>()[0] == Approx(4 * c).epsilon(1e-7));  // f32 grad
    CHECK(!reg.get("no_grad").grad().defined());
  }
  SECTION("global norm: no-op below the threshold") {
    reset();
    CHECK(clip_grad_norm(reg, 10.0) == Approx(5.0).epsilon(kTight));
    CHECK(a.grad().to_vector<double>()[0] == 3.0);
    CHECK(b.grad().to_vector<float>()[0] == 4.0f);
  }
  SECTION("per tensor: each gradient against its own norm") {
    reset();
    clip_grad_norm_per_tensor(reg, 3.5);
    CHECK(a.grad().to_vector<double>()[0] == 3.0);  // norm 3 < 3.5: untouched
    CHECK(b.grad().to_vector<float>()[0] == Approx(4 * 3.5 / (4 + 1e-6)).epsilon(1e-7));
  }
  SECTION("a non-finite norm is reported and nothing is scaled") {
    reset();
    set_grad(a, {std::numeric_limits<double>::infinity(), 0});
    CHECK(std::isinf(clip_grad_norm(reg, 1.0)));
    CHECK(b.grad().to_vector<float>()[0] == 4.0f);
    set_grad(a, {std::nan(""), 0});
    CHECK(std::isnan(clip_grad_norm(reg, 1.0)));
    clip_grad_norm_per_tensor(reg, 1.0);  // the NaN tensor is left alone, the finite one clipped
    CHECK(b.grad().to_vector<float>()[0] == Approx(1.0 / (1 + 2.5e-7)).epsilon(1e-6));
  }
  SECTION("large gradients: chunked sums, the same for any thread count") {
    // 300001 elements: five 65536-element chunks and a partial one, summed in parallel.
    RngStream rng{7, 0};
    ParameterRegistry big;
    Tensor w = big.add("w", Tensor::zeros({300001}, DType::F64));
    Tensor v = big.add("v", Tensor::zeros({70000}, DType::F32));
    Tensor gw = Tensor::empty({300001}, DType::F64), gv = Tensor::empty({70000}, DType::F32);
    uniform_fill(gw, -1, 1, rng);
    uniform_fill(gv, -1, 1, rng);
    double sq_w = 0, sq_v = 0;
    for (double x : gw.to_vector<double>()) sq_w += x * x;
    for (double x : gv.to_vector<double>()) sq_v += x * x;
    std::vector<double> norms, clipped;
    for (int threads : {1, 2, 3, 4}) {
      test::ScopedThreads scoped(threads);
      w.grad_buffer().copy_from(gw);
      v.grad_buffer().copy_from(gv);
      norms.push_back(clip_grad_norm(big, 1e9));  // no clipping: just the norm
      w.grad_buffer().copy_from(gw);
      v.grad_buffer().copy_from(gv);
      clip_grad_norm_per_tensor(big, 1.0);
      clipped.push_back(v.grad().to_vector<float>()[0]);
    }
    for (size_t k = 1; k < norms.size(); ++k) {
      CHECK(norms[k] == norms[0]);  // bit-identical
      CHECK(clipped[k] == clipped[0]);
    }
    CHECK(norms[0] == Approx(std::sqrt(sq_w + sq_v)).epsilon(1e-13));
    CHECK(clipped[0] == Approx(gv.to_vector<float>()[0] / (std::sqrt(sq_v) + 1e-6)).epsilon(1e-6));
  }
  SECTION("errors") {
    CHECK_THROWS_WITH(clip_grad_norm(reg, 0.0), Catch::Contains("clip_grad_norm: max_norm must be positive"));
    CHECK_THROWS_WITH(clip_grad_norm_per_tensor(reg, -1.0), Catch::Contains("max_norm must be positive"));
  }
}

TEST_CASE("optim: linear warmup/decay schedule", "[optim]") {
  // HF get_linear_schedule_with_warmup with warmup 10 of 100 steps.
  CHECK(linear_warmup_decay(0, 10, 100) == 0.0);  // the first update has lr 0
  CHECK(linear_warmup_decay(5, 10, 100) == 0.5);
  CHECK(linear_warmup_decay(10, 10, 100) == 1.0);  // warmup end: peak
  CHECK(linear_warmup_decay(55, 10, 100) == 0.5);  // mid-decay: 45 / 90
  CHECK(linear_warmup_decay(99, 10, 100) == Approx(1.0 / 90).epsilon(kTight));
  CHECK(linear_warmup_decay(100, 10, 100) == 0.0);
  CHECK(linear_warmup_decay(150, 10, 100) == 0.0);  // beyond the end
  // No warmup: starts at 1 and decays at once.
  CHECK(linear_warmup_decay(0, 0, 100) == 1.0);
  CHECK(linear_warmup_decay(50, 0, 100) == 0.5);
  // DocBERT: warmup proportion 0.1 of t_total, unrounded (hedwig HEAD), e.g. Reuters 30 epochs ~ 10908 steps.
  const double warm = warmup_steps_from_proportion(0.1, 10908);
  CHECK(warm == Approx(1090.8).epsilon(kTight));
  CHECK(linear_warmup_decay(1090, warm, 10908) == Approx(1090 / 1090.8).epsilon(kTight));
  CHECK(linear_warmup_decay(1091, warm, 10908) == Approx((10908 - 1091) / (10908 - 1090.8)).epsilon(kTight));
  // BertAdam's warmup_linear(x = step / t_total, warmup) gives the same multipliers.
  auto bert_warmup_linear = [](double x, double w) { return x < w ? x / w : std::max((x - 1) / (w - 1), 0.0); };
  for (int64_t s : {0, 1, 500, 1090, 1091, 5000, 10907, 10908, 11000})
    CHECK(linear_warmup_decay(s, warm, 10908) == Approx(bert_warmup_linear(s / 10908.0, 0.1)).margin(1e-12));

  LrSchedule constant;
  CHECK(constant.multiplier(0) == 1.0);
  CHECK(constant.multiplier(12345) == 1.0);
  LrSchedule linear{LrSchedule::Kind::LinearWarmupDecay, 10, 100};
  CHECK(linear.multiplier(55) == 0.5);
  CHECK_THROWS_WITH(linear_warmup_decay(0, 200, 100), Catch::Contains("warmup_steps must be in [0, total_steps"));
  CHECK_THROWS_WITH(linear_warmup_decay(-1, 10, 100), Catch::Contains("step must be >= 0"));
  CHECK_THROWS_WITH(warmup_steps_from_proportion(1.5, 100), Catch::Contains("proportion must be in [0, 1]"));
}

TEST_CASE("optim: LrSchedule and warmup_steps_from_proportion", "[optim]") {
  // Constant: 1 at every step; warmup and total are ignored.
  LrSchedule constant;
  CHECK(constant.kind == LrSchedule::Kind::Constant);
  for (int64_t s : {int64_t{0}, int64_t{1}, int64_t{99}, int64_t{1} << 40}) CHECK(constant.multiplier(s) == 1.0);
  LrSchedule constant_with_fields{LrSchedule::Kind::Constant, 5, 10};
  CHECK(constant_with_fields.multiplier(10) == 1.0);

  // Linear warmup/decay: exactly linear_warmup_decay, including a fractional warmup from a proportion.
  LrSchedule linear{LrSchedule::Kind::LinearWarmupDecay, warmup_steps_from_proportion(0.25, 40), 40};
  CHECK(linear.warmup_steps == 10.0);
  for (int64_t s = 0; s <= 45; ++s) CHECK(linear.multiplier(s) == linear_warmup_decay(s, 10, 40));
  CHECK(linear.multiplier(0) == 0.0);
  CHECK(linear.multiplier(4) == 0.4);
  CHECK(linear.multiplier(10) == 1.0);
  CHECK(linear.multiplier(25) == 0.5);
  CHECK(linear.multiplier(40) == 0.0);
  LrSchedule fractional{LrSchedule::Kind::LinearWarmupDecay, warmup_steps_from_proportion(0.1, 25), 25};
  CHECK(fractional.warmup_steps == Approx(2.5).epsilon(kTight));
  CHECK(fractional.multiplier(2) == Approx(2 / 2.5).epsilon(kTight));
  CHECK(fractional.multiplier(3) == Approx(22 / 22.5).epsilon(kTight));
  // A linear schedule that was never given its length is an error, not a silent constant.
  LrSchedule unset{LrSchedule::Kind::LinearWarmupDecay};
  CHECK_THROWS_WITH(unset.multiplier(0), Catch::Contains("total_steps must be >= 1"));

  CHECK(warmup_steps_from_proportion(0, 100) == 0.0);
  CHECK(warmup_steps_from_proportion(1, 100) == 100.0);
  CHECK(warmup_steps_from_proportion(0.1, 10908) == Approx(1090.8).epsilon(kTight));  // not rounded
  CHECK_THROWS_WITH(warmup_steps_from_proportion(-0.1, 100), Catch::Contains("proportion must be in [0, 1]"));
  CHECK_THROWS_WITH(warmup_steps_from_proportion(std::nan(""), 100), Catch::Contains("proportion must be in [0, 1]"));
}

TEST_CASE("optim: EMA of parameters, swap in/out, hedwig's correction, state", "[optim]") {
  ParameterRegistry reg;
  Tensor p = reg.add("fc.weight", vec({1.0, 2.0}));
  Tensor q = reg.add("fc.bias", vec({-1.0}, DType::F32));
  Ema ema(reg);  // shadow = (1, 2), (-1)
  p.copy_from(vec({3.0, 4.0}));
  q.copy_from(vec({1.0}, DType::F32));
  ema.update(0.9);  // (1.2, 2.2), (-0.8)
  ema.update(0.9);  // (1.38, 2.38), (-0.62)
  CHECK(ema.num_updates() == 2);

  ema.swap_in();
  CHECK(ema.swapped_in());
  CHECK(p.to_vector<double>()[0] == Approx(1.38).epsilon(kTight));
  CHECK(p.to_vector<double>()[1] == Approx(2.38).epsilon(kTight));
  CHECK(q.to_vector<float>()[0] == Approx(-0.62).epsilon(1e-6));
  CHECK_THROWS_WITH(ema.update(0.9), Catch::Contains("call swap_out() first"));
  CHECK_THROWS_WITH(ema.swap_in(), Catch::Contains("already swapped in"));
  ema.swap_out();
  CHECK(p.to_vector<double>() == std::vector<double>{3.0, 4.0});
  CHECK(q.to_vector<float>()[0] == 1.0f);
  CHECK_THROWS_WITH(ema.swap_out(), Catch::Contains("not swapped in"));

  // hedwig's load_ema_params: avg / (1 - beta^t) with t = 2.
  ema.swap_in(true);
  CHECK(p.to_vector<double>()[0] == Approx(1.38 / (1 - 0.81)).epsilon(kTight));
  ema.swap_out();

  // Checkpoint round trip into a fresh Ema, and a shape error.
  Ema restored(reg);
  restored.load_state(ema.state());
  CHECK(restored.num_updates() == 2);
  restored.swap_in(true);
  CHECK(p.to_vector<double>()[1] == Approx(2.38 / (1 - 0.81)).epsilon(kTight));
  restored.swap_out();
  std::vector<NamedTensor> wrong = ema.state();
  wrong[0].tensor = Tensor::zeros({3}, DType::F64);
  CHECK_THROWS_WITH(restored.load_state(wrong),
                    Catch::Contains("Ema load_state: 'fc.weight.ema' is (3) but parameter 'fc.weight' is (2)"));

  // Repeated swaps reuse the backup and stay exact.
  for (int k = 0; k < 3; ++k) {
    ema.swap_in();
    CHECK(p.to_vector<double>()[0] == Approx(1.38).epsilon(kTight));
    ema.swap_out();
    CHECK(p.to_vector<double>() == std::vector<double>{3.0, 4.0});
    CHECK(q.to_vector<float>()[0] == 1.0f);
  }

  // An empty registry: swapping in and out still tracks the state.
  ParameterRegistry none;
  Ema empty(none);
  CHECK_FALSE(empty.swapped_in());
  empty.swap_in();
  CHECK(empty.swapped_in());
  CHECK_THROWS_WITH(empty.update(0.9), Catch::Contains("call swap_out() first"));
  empty.swap_out();
  CHECK_FALSE(empty.swapped_in());

  Ema fresh(reg);
  CHECK_THROWS_WITH(fresh.swap_in(true), Catch::Contains("needs an update with decay < 1"));
  CHECK_THROWS_WITH(fresh.update(1.5), Catch::Contains("decay must be in [0, 1]"));
}

TEST_CASE("optim: many tensors in several lists step and clip as each would alone", "[optim]") {
  // 110 parameters in runs of f32 and f64: more than one list (kernels/optim.h: 48 tensors of one dtype each) and
  // empty tensors. Every tensor's update is its own, so a registry of one parameter gives the same bits.
  const int count = 110;
  ParameterRegistry all;
  many_params(all, count, Device::CPU, /*mixed=*/true);
  std::vector<ParameterRegistry> alone(count);
  for (int k = 0; k < count; ++k) alone[k].add(all.all()[k].name, all.all()[k].tensor.clone());
  AdamWConfig cfg;
  cfg.lr = 0.01;
  cfg.weight_decay = 0.1;
  AdamW opt(all, cfg);
  std::vector<AdamW> opts;
  for (ParameterRegistry& r : alone) opts.emplace_back(r, cfg);
  for (int step = 0; step < 3; ++step) {
    many_grads(all, step);
    for (int k = 0; k < count; ++k) {
      alone[k].zero_grad();
      const Tensor& g = all.all()[k].tensor.grad();
      Tensor p = alone[k].all()[0].tensor;
      if (g.defined()) p.grad_buffer().copy_from(g);
    }
    if (step == 1) {
      clip_grad_norm_per_tensor(all, 20.0);
      for (ParameterRegistry& r : alone) clip_grad_norm_per_tensor(r, 20.0);
    }
    if (step == 2) {
      double sq = 0;
      for (ParameterRegistry& r : alone) sq += std::pow(grad_norm(r), 2);
      CHECK(grad_norm_tensor(all).item() == Approx(std::sqrt(sq)).epsilon(1e-13));
    }
    opt.step();
    for (AdamW& o : opts) o.step();
  }
  for (int k = 0; k < count; ++k) {
    INFO(all.all()[k].name);
    CHECK(test::bit_equal(all.all()[k].tensor, alone[k].all()[0].tensor));
  }
}

TEST_CASE("optim: AdamW, Adam, clipping and EMA on cuda follow the cpu and repeat bit for bit", "[optim][cuda]") {
  const int count = 60;  // two lists
  enum class Kind { AdamWCorrected, BertAdam, Adam };
  for (Kind kind : {Kind::AdamWCorrected, Kind::BertAdam, Kind::Adam}) {
    DYNAMIC_SECTION("optimizer " << static_cast<int>(kind)) {
      // Three steps: global clipping before the first, per-tensor clipping before the second, none before the
      // third; then the EMA. Returns the parameters and the norms, on the host.
      struct Run {
        std::vector<Tensor> params, ema_params;
        std::vector<double> norms;
      };
      auto run = [&](Device dev) {
        ParameterRegistry reg;
        many_params(reg, count, dev);
        std::optional<Adam> adam;
        std::optional<AdamW> adamw;
        AdamBase* opt = nullptr;
        if (kind == Kind::Adam) {
          AdamConfig c;
          c.lr = 0.01;
          c.weight_decay = 0.05;
          opt = &adam.emplace(reg, c);
        } else {
          AdamWConfig c;
          c.lr = 0.01;
          c.weight_decay = 0.1;
          c.bias_correction = kind == Kind::AdamWCorrected;
          opt = &adamw.emplace(reg, c);
        }
        Ema ema(reg);
        Run r;
        for (int step = 0; step < 3; ++step) {
          many_grads(reg, step);
          const Tensor norm = step == 0 ? clip_grad_norm_tensor(reg, 30.0) : grad_norm_tensor(reg);
          CHECK(norm.device() == dev);
          r.norms.push_back(norm.item());
          if (step == 1) clip_grad_norm_per_tensor(reg, 20.0);
          opt->step(0.01);
          ema.update(0.9);
        }
        for (const NamedTensor& p : reg.all()) r.params.push_back(p.tensor.to(Device::CPU));
        ema.swap_in(true);
        for (const NamedTensor& p : reg.all()) r.ema_params.push_back(p.tensor.to(Device::CPU));
        ema.swap_out();
        for (size_t k = 0; k < reg.size(); ++k)
          CHECK(test::bit_equal(reg.all()[k].tensor.to(Device::CPU), r.params[k]));
        return r;
      };
      const Run cpu = run(Device::CPU), gpu = run(Device::CUDA), again = run(Device::CUDA);
      for (size_t s = 0; s < cpu.norms.size(); ++s) {
        CHECK(gpu.norms[s] == Approx(cpu.norms[s]).epsilon(1e-12));  // f64 sums in another order
        CHECK(again.norms[s] == gpu.norms[s]);
      }
      for (size_t k = 0; k < cpu.params.size(); ++k) {
        INFO("parameter " << k);
        // f32 on both; the GPU may fuse multiply-adds the CPU rounds twice (or the other way round).
        CHECK(test::max_abs_diff(gpu.params[k], cpu.params[k]) <= 1e-5);
        CHECK(test::max_abs_diff(gpu.ema_params[k], cpu.ema_params[k]) <= 1e-5);
        CHECK(test::bit_equal(again.params[k], gpu.params[k]));
        CHECK(test::bit_equal(again.ema_params[k], gpu.ema_params[k]));
      }
    }
  }
}

TEST_CASE("optim: cuda state goes to the host for checkpoints and back", "[optim][cuda]") {
  ParameterRegistry a, b;
  many_params(a, 50, Device::CUDA);
  many_params(b, 50, Device::CUDA);
  AdamWConfig cfg;
  cfg.weight_decay = 0.01;
  AdamW opt_a(a, cfg);
  Ema ema_a(a);
  for (int step = 0; step < 2; ++step) {
    many_grads(a, step);
    opt_a.step(0.05);
    ema_a.update(0.99);
  }
  const std::vector<NamedTensor> st = opt_a.state(), est = ema_a.state();
  for (const NamedTensor& e : st) CHECK(e.tensor.is_cpu());
  for (const NamedTensor& e : est) CHECK(e.tensor.is_cpu());
  // b: the same parameter values and the restored state (the moments uploaded, one converted from f64 first).
  for (size_t k = 0; k < a.size(); ++k) {
    Tensor t = b.all()[k].tensor;
    t.copy_from(a.all()[k].tensor);
  }
  std::vector<NamedTensor> st_b = st;
  st_b[2].tensor = st_b[2].tensor.to(DType::F64);  // exact in f64, converted back on load
  AdamW opt_b(b, cfg);
  opt_b.load_state(st_b);
  Ema ema_b(b);
  ema_b.load_state(est);
  many_grads(a, 2);
  many_grads(b, 2);
  opt_a.step(0.05);
  opt_b.step(0.05);
  ema_a.update(0.99);
  ema_b.update(0.99);
  for (size_t k = 0; k < a.size(); ++k) {
    INFO(a.all()[k].name);
    CHECK(b.all()[k].tensor.device() == Device::CUDA);
    CHECK(test::bit_equal(a.all()[k].tensor.to(Device::CPU), b.all()[k].tensor.to(Device::CPU)));
  }
  const std::vector<NamedTensor> ea = ema_a.state(), eb = ema_b.state();
  for (size_t k = 0; k < ea.size(); ++k) CHECK(test::bit_equal(ea[k].tensor, eb[k].tensor));

  // A non-finite gradient: the norm says so and clipping leaves every gradient as it was.
  many_grads(a, 3);
  Tensor g0 = a.all()[1].tensor.grad();
  g0.fill(std::numeric_limits<double>::infinity());
  std::vector<Tensor> before;
  for (const NamedTensor& p : a.all())
    before.push_back(p.tensor.grad().defined() ? p.tensor.grad().to(Device::CPU) : Tensor());
  CHECK(std::isinf(clip_grad_norm(a, 1.0)));
  for (size_t k = 0; k < a.size(); ++k)
    if (before[k].defined()) CHECK(test::bit_equal(a.all()[k].tensor.grad().to(Device::CPU), before[k]));
  // Parameters on cuda must be f32 (the registry takes f64 too, which is the CPU's gradient-check type).
  ParameterRegistry f64;
  f64.add("w", Tensor::empty({2}, DType::F64, Device::CUDA));
  CHECK_THROWS_WITH(AdamW(f64), Catch::Contains("AdamW: 'w' must be f32 on cuda"));
  CHECK_THROWS_WITH(Ema(f64), Catch::Contains("Ema: 'w' must be f32 on cuda"));
}
