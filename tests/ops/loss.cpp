// Op table: losses (engine/ops/loss.h).
//
// Gradient-check tolerance: a loss is one scalar ~ log K, so most of its B*K gradients (~1/(B K)) lie under the
// harness's 1e-3 floor and are compared absolutely; the default 1e-7 then asks for ~1e-10 absolute accuracy,
// which central differences of a double loss deliver (roundoff ~1e-15 / 1e-5 step).
#include "engine/ops/loss.h"
#include "tests/op_table.h"
#include "tests/test_support.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

using namespace docbert;
using namespace docbert::test;
using Catch::Contains;

// Batch rows: one, odd, just over a warp. Classes/labels: the degenerate K = 1, binary, awkward, Reuters' 90 labels,
// and one over a power of two.
#define LOSS_B GENERATE(1, 3, 33)
#define LOSS_K GENERATE(1, 2, 31, 90, 513)

namespace {

// Spread-out class ids (7b + 3) mod K; i32 when B = 3 so both id types run through the cases.
Tensor class_targets(int64_t B, int64_t K) {
  std::vector<int64_t> v;
  for (int64_t b = 0; b < B; ++b) v.push_back((7 * b + 3) % K);
  if (B != 3) return ids_tensor(v, {B});
  return Tensor::from_vector(std::vector<int32_t>(v.begin(), v.end()), {B});
}

// Fixed 0/1 multi-labels, ~40% positive.
Tensor hard_labels(int64_t B, int64_t K) {
  std::vector<double> v;
  for (int64_t i = 0; i < B * K; ++i) v.push_back((i * 31 + i / K * 17) % 5 < 2 ? 1.0 : 0.0);
  return Tensor::from_vector(v, {B, K});
}

}  // namespace

TEST_CASE("op cross_entropy", "[op]") {
  const int64_t B = LOSS_B, K = LOSS_K;
  OpCase c;
  c.name = fmt::format("cross_entropy ({},{})", B, K);
  c.inputs = {uniform({B, K}, -4, 4), fixed(class_targets(B, K))};  // [-4,4]: far from uniform softmax rows
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{cross_entropy(in[0], in[1])}; };
  check_op(c);
}

TEST_CASE("op bce_with_logits hard and soft targets", "[op]") {
  const int64_t B = LOSS_B, K = LOSS_K;
  for (bool soft : {false, true}) {
    OpCase c;
    c.name = fmt::format("bce_with_logits {} targets ({},{})", soft ? "soft" : "hard", B, K);
    // Soft targets stay inside [0.05, 0.95] so the finite-difference steps never leave [0, 1]; they get gradients.
    c.inputs = {uniform({B, K}, -4, 4), soft ? uniform({B, K}, 0.05, 0.95) : fixed(hard_labels(B, K))};
    c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{bce_with_logits(in[0], in[1])}; };
    check_op(c);
  }
}

TEST_CASE("op kl_div_softmax", "[op]") {
  const int64_t B = LOSS_B, K = LOSS_K;
  const double T = GENERATE(1.0, 2.0);
  const bool teacher_grad = B != 3;  // B = 3: distillation's usual case, constant teacher logits
  OpCase c;
  c.name = fmt::format("kl_div_softmax T={} ({},{}) teacher grad {}", T, B, K, teacher_grad);
  c.inputs = {uniform({B, K}, -4, 4), teacher_grad ? uniform({B, K}, -4, 4) : uniform_nograd({B, K}, -4, 4)};
  c.forward = [T](const std::vector<Tensor>& in) { return std::vector<Tensor>{kl_div_softmax(in[0], in[1], T)}; };
  check_op(c);
}

TEST_CASE("op kl_div_bernoulli", "[op]") {
  const int64_t B = LOSS_B, K = LOSS_K;
  const double T = GENERATE(1.0, 2.0);
  const bool teacher_grad = B != 3;  // B = 3: distillation's usual case, constant teacher logits
  OpCase c;
  c.name = fmt::format("kl_div_bernoulli T={} ({},{}) teacher grad {}", T, B, K, teacher_grad);
  c.inputs = {uniform({B, K}, -4, 4), teacher_grad ? uniform({B, K}, -4, 4) : uniform_nograd({B, K}, -4, 4)};
  c.forward = [T](const std::vector<Tensor>& in) { return std::vector<Tensor>{kl_div_bernoulli(in[0], in[1], T)}; };
  // The loss sums K labels, ~T^2 K / 2 = 1e3 at K = 513: one ulp of it over a central difference of step 1e-4 is
  // 1e-9 of gradient, up to 1e-6 of the 1e-3 floor (measured worst 8e-8). Step 1e-4 (not 1e-5) keeps that noise
  // down; truncation (~h^2/6 |f'''|) stays ~1e-10.
  c.fd_eps = 1e-4;
  if (K >= 90) c.grad_tol = 1e-6;
  check_op(c);
}

TEST_CASE("op mse", "[op]") {
  const int64_t B = LOSS_B, K = LOSS_K;
  // (B,K) logits, and (2,B,768) hidden states: more than one 4096-element partial sum.
  for (const Shape& s : {Shape{B, K}, Shape{2, B, 768}}) {
    OpCase c;
    c.name = fmt::format("mse {}", shape_str(s));
    c.inputs = {uniform(s), uniform(s)};
    c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{mse(in[0], in[1])}; };
    check_op(c);
  }
}

TEST_CASE("op losses at large logits", "[op]") {
  // Logits spread over [-60, 60]: rows are near one-hot and the loss values reach ~1e3 (mse, the KLs at T = 2).
  // One ulp of such a value (2e-13) over a central difference is gradient noise of 1e-9 at step 1e-4, up to 1e-6
  // of the 1e-3 floor: hence step 1e-4 (truncation, ~h^2/6 |f'''|, stays ~1e-10) and tolerance 1e-6
  // (measured worst 1.1e-7). A real error (a missing term, a wrong scale) is orders bigger.
  const int64_t B = 3, K = 31;
  const double T = GENERATE(1.0, 2.0);
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Tensor&)>>> losses = {
      {"cross_entropy", [B, K](const Tensor& s, const Tensor&) { return cross_entropy(s, class_targets(B, K)); }},
      {"bce_with_logits", [](const Tensor& s, const Tensor& t) { return bce_with_logits(s, t); }},
      {"kl_div_softmax", [T](const Tensor& s, const Tensor& t) { return kl_div_softmax(s, t, T); }},
      {"kl_div_bernoulli", [T](const Tensor& s, const Tensor& t) { return kl_div_bernoulli(s, t, T); }},
      {"mse", [](const Tensor& s, const Tensor& t) { return mse(s, t); }},
  };
  for (const auto& [name, loss] : losses) {
    const bool targets = std::string(name) == "bce_with_logits";
    OpCase c;
    c.name = fmt::format("{} large logits T={} ({},{})", name, T, B, K);
    c.inputs = {uniform({B, K}, -60, 60), targets ? uniform({B, K}, 0.05, 0.95) : uniform({B, K}, -60, 60)};
    if (std::string(name) == "cross_entropy") c.inputs[1].grad = false;  // unused: cross_entropy takes ids
    c.fd_eps = 1e-4;
    c.grad_tol = 1e-6;
    c.forward = [loss = loss](const std::vector<Tensor>& in) { return std::vector<Tensor>{loss(in[0], in[1])}; };
    check_op(c);
  }
}

TEST_CASE("losses at saturated logits (+-100) are finite and match closed forms in f32 and f64", "[op]") {
  // Where a naive formula overflows (exp(100) in f32) or takes 0 * log 0, each value below has an exact closed form.
  // Computed on the CPU in f64 (the gradients' reference) and f32, and in a GPU run (tests/op_table.h) on CUDA in f32
  // and bf16, whose kernels compute in f32 with the same stable formulas. Relative tolerances: CPU f64 1e-14 (a
  // handful of roundings in double); CPU f32 1e-6 (the inputs are exact in f32 and the arithmetic is double, so only
  // the final rounding to f32 differs); CUDA f32 1e-5 (the same few roundings, in f32); CUDA bf16 1e-2 (the inputs
  // are exact in bf16, the loss and gradients are stored with 8 significant bits, 2^-9 relative).
  struct Case {
    const char* name;
    Shape shape;
    std::vector<double> a, b;
    std::function<Tensor(const Tensor&, const Tensor&)> loss;
    double expected;
  };
  const double T = 2;
  const std::vector<Case> cases = {
      // Row 0 predicts its target with margin 200, row 1 is off by 200: (log1p(4 e^-200) + 200 + log1p(...)) / 2.
      {"cross_entropy",
       {2, 5},
       {100, -100, -100, -100, -100, 100, -100, -100, -100, -100},
       {},
       [](const Tensor& z, const Tensor&) {
         return cross_entropy(z, ids_tensor({0, 1}, {2}));
       },
       100 + std::log1p(4 * std::exp(-200.0))},
      // All four (z, y) corners: z = +-100 against y = 0/1; two cost 100 + log1p(e^-100), two only log1p(e^-100).
      {"bce_with_logits",
       {2, 2},
       {100, 100, -100, -100},
       {1, 0, 1, 0},
       [](const Tensor& z, const Tensor& y) { return bce_with_logits(z, y); },
       50 + std::log1p(std::exp(-100.0))},
      // A correct, saturated label costs exactly its log1p tail, which max(z,0) - z y + log1p(...) keeps
      // (softplus(z) - z y would round it away). z = 80 keeps the tail (1.8e-35) a normal f32.
      {"bce_with_logits tail",
       {1, 1},
       {80},
       {1},
       [](const Tensor& z, const Tensor& y) { return bce_with_logits(z, y); },
       std::log1p(std::exp(-80.0))},
      // Student one-hot on class 0, teacher on class 1, at T = 2 (scaled logits +-50): KL = 100 (+ O(e^-100)),
      // times T^2.
      {"kl_div_softmax",
       {1, 3},
       {100, -100, -100},
       {-100, 100, -100},
       [T](const Tensor& s, const Tensor& t) { return kl_div_softmax(s, t, T); },
       T * T * 100},
      // Per label KL = softplus(c) - softplus(a) - sigmoid(a) (c - a) with a = t/T, c = s/T: opposite saturated
      // labels give 50 tanh(25) each at T = 2, agreeing ones 0. Naively 0 * log 0.
      {"kl_div_bernoulli",
       {1, 4},
       {-100, 100, 100, -100},
       {100, 100, -100, -100},
       [T](const Tensor& s, const Tensor& t) { return kl_div_bernoulli(s, t, T); },
       T * T * 2 * 50 * std::tanh(25.0)},
      {"mse", {1, 2}, {100, -100}, {-100, -100}, [](const Tensor& a, const Tensor& b) { return mse(a, b); }, 20000},
  };
  struct Where {
    Device device;
    DType dtype;
    double tol;
  };
  std::vector<Where> wheres = {{Device::CPU, DType::F64, 1e-14}, {Device::CPU, DType::F32, 1e-6}};
  if (gpu_run()) wheres.insert(wheres.end(), {{Device::CUDA, DType::F32, 1e-5}, {Device::CUDA, DType::BF16, 1e-2}});
  for (const Case& c : cases) {
    INFO(c.name);
    std::vector<Tensor> grads64;
    for (const Where& at : wheres) {
      INFO(device_name(at.device) << " " << dtype_name(at.dtype));
      std::vector<Tensor> ins{Tensor::from_vector(c.a, c.shape).to(at.dtype).to(at.device)};
      if (!c.b.empty()) ins.push_back(Tensor::from_vector(c.b, c.shape).to(at.dtype).to(at.device));
      for (Tensor& t : ins) t.set_requires_grad(true);
      Tensor loss = c.loss(ins[0], ins.size() > 1 ? ins[1] : Tensor());
      CHECK(loss.shape() == Shape{});
      CHECK(loss.dtype() == at.dtype);
      CHECK(loss.device() == at.device);
      CHECK(loss.item() == Approx(c.expected).epsilon(at.tol).margin(0));
      loss.backward();
      for (size_t i = 0; i < ins.size(); ++i) {
        const Tensor g = ins[i].grad().to(Device::CPU).to(DType::F64);
        for (double v : g.to_vector<double>()) CHECK(std::isfinite(v));
        if (at.dtype == DType::F64) {
          grads64.push_back(g);
          continue;
        }
        // The other gradients agree with the f64 ones, relative to the largest (at least 1: the teacher gradients
        // of the KLs are ~e^-100 here, roundoff in both).
        double scale = 1;
        for (double v : grads64[i].to_vector<double>()) scale = std::max(scale, std::abs(v));
        CHECK(max_abs_diff(g, grads64[i]) <= at.tol * scale);
      }
    }
  }
}

TEST_CASE("cross_entropy with one class is exactly 0 with a zero gradient", "[op]") {
  const int64_t B = LOSS_B;
  Tensor z = Tensor::empty({B, 1}, DType::F64);
  RngStream rng{7, 0};
  uniform_fill(z, -60, 60, rng);
  z.set_requires_grad(true);
  Tensor loss = cross_entropy(z, ids_tensor(std::vector<int64_t>(static_cast<size_t>(B), 0), {B}));
  CHECK(loss.item() == 0.0);
  loss.backward();
  for (double g : z.grad().to_vector<double>()) CHECK(g == 0.0);
}

TEST_CASE("losses and their gradients are bit-identical across thread counts", "[op][determinism]") {
  // Rows and mse chunks are summed in parallel and added in index order, so the thread count changes nothing.
  // (256,90): several parallel chunks of rows; mse over (4,64,768): 48 chunks of 4096.
  struct Case {
    const char* name;
    Shape shape;
    double lo, hi;  // the second input's range (bce_with_logits: targets in [0, 1])
    std::function<Tensor(const Tensor&, const Tensor&)> loss;
  };
  const std::vector<Case> cases = {
      {"cross_entropy",
       {256, 90},
       -4,
       4,
       [](const Tensor& s, const Tensor&) { return cross_entropy(s, class_targets(256, 90)); }},
      {"bce_with_logits", {256, 90}, 0, 1, [](const Tensor& s, const Tensor& t) { return bce_with_logits(s, t); }},
      {"kl_div_softmax", {256, 90}, -4, 4, [](const Tensor& s, const Tensor& t) { return kl_div_softmax(s, t, 2); }},
      {"kl_div_bernoulli",
       {256, 90},
       -4,
       4,
       [](const Tensor& s, const Tensor& t) { return kl_div_bernoulli(s, t, 2); }},
      {"mse", {4, 64, 768}, -4, 4, [](const Tensor& a, const Tensor& b) { return mse(a, b); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto run = [&c](int threads) {
      ScopedThreads scoped(threads);
      std::vector<Tensor> in = random_inputs({uniform(c.shape, -4, 4), uniform(c.shape, c.lo, c.hi)}, DType::F32);
      for (Tensor& t : in) t.set_requires_grad(true);
      Tensor loss = c.loss(in[0], in[1]);
      loss.backward(Tensor::scalar(0.75));  // dL != 1: the backward reads it from the loss's gradient
      return std::vector<Tensor>{loss, in[0].grad(), in[1].grad()};
    };
    const std::vector<Tensor> one = run(1), three = run(3);
    CHECK(bit_equal(one[0], three[0]));
    CHECK(bit_equal(one[1], three[1]));
    if (one[2].defined()) CHECK(bit_equal(one[2], three[2]));  // cross_entropy's second input is unused
  }
}

TEST_CASE("losses reject bad arguments with the op name", "[op][errors]") {
  const Tensor z = Tensor::zeros({4, 5});
  CHECK_THROWS_WITH(cross_entropy(z, ids_tensor({0, 1, 2}, {3})),
                    Contains("cross_entropy: shape mismatch") && Contains("(3)") && Contains("(4,5)"));
  CHECK_THROWS_WITH(cross_entropy(z, ids_tensor({0, 1, 7, 2}, {4})),
                    Contains("cross_entropy: targets[2] = 7 is outside [0, 5)"));
  CHECK_THROWS_WITH(cross_entropy(z, Tensor::from_vector(std::vector<int32_t>{-1, 0, 0, 0}, {4})),
                    Contains("cross_entropy: targets[0] = -1 is outside [0, 5)"));
  CHECK_THROWS_WITH(cross_entropy(z, Tensor::zeros({4})), Contains("cross_entropy: 'targets' must be i32 or i64"));
  CHECK_THROWS_WITH(cross_entropy(Tensor::zeros({4, 5, 1}), ids_tensor({0, 0, 0, 0}, {4})),
                    Contains("cross_entropy: 'logits' must have 2 dimensions"));
  CHECK_THROWS_WITH(cross_entropy(Tensor::zeros({0, 5}), ids_tensor({}, {0})),
                    Contains("cross_entropy: 'logits' (0,5) is empty"));

  CHECK_THROWS_WITH(bce_with_logits(z, Tensor::zeros({4, 6})),
                    Contains("bce_with_logits: shape mismatch") && Contains("(4,5)") && Contains("(4,6)"));
  Tensor bad = Tensor::zeros({4, 5});
  bad.data<float>()[7] = 1.5f;
  CHECK_THROWS_WITH(bce_with_logits(z, bad), Contains("bce_with_logits: targets[1,2] = 1.5 is outside [0, 1]"));
  bad.data<float>()[7] = std::nanf("");
  CHECK_THROWS_WITH(bce_with_logits(z, bad), Contains("bce_with_logits: targets[1,2] = nan"));
  CHECK_THROWS_WITH(bce_with_logits(z, Tensor::zeros({4, 5}, DType::F64)), Contains("bce_with_logits: dtype mismatch"));
  if (gpu_run()) {
    // CUDA does not check the targets on the host (that would sync every step): an outside one makes the loss NaN.
    bad.data<float>()[7] = 1.5f;
    CHECK(std::isnan(bce_with_logits(z.to(Device::CUDA), bad.to(Device::CUDA)).item()));
  }

  CHECK_THROWS_WITH(
      kl_div_softmax(z, Tensor::zeros({5, 4})),
      Contains("kl_div_softmax: shape mismatch: 'student_logits' is (4,5) but 'teacher_logits' is (5,4)"));
  CHECK_THROWS_WITH(kl_div_softmax(z, z, 0), Contains("kl_div_softmax: temperature must be positive"));
  CHECK_THROWS_WITH(kl_div_bernoulli(z, Tensor::zeros({4, 4})),
                    Contains("kl_div_bernoulli: shape mismatch") && Contains("(4,5)") && Contains("(4,4)"));
  CHECK_THROWS_WITH(kl_div_bernoulli(z, z, -1), Contains("kl_div_bernoulli: temperature must be positive"));
  CHECK_THROWS_WITH(kl_div_bernoulli(z, z, std::nan("")), Contains("kl_div_bernoulli: temperature must be positive"));
  CHECK_THROWS_WITH(kl_div_bernoulli(Tensor::zeros({20}), Tensor::zeros({20})),
                    Contains("kl_div_bernoulli: 'student_logits' must have 2 dimensions"));

  CHECK_THROWS_WITH(mse(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})),
                    Contains("mse: shape mismatch: 'a' is (2,3) but 'b' is (3,2)"));
  CHECK_THROWS_WITH(mse(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}, DType::F64)), Contains("mse: dtype mismatch"));
  CHECK_THROWS_WITH(mse(Tensor::zeros({0}), Tensor::zeros({0})), Contains("mse: 'a' (0) is empty"));

  // bf16 passes the operand checks (CUDA computes in it) but not the CPU implementations.
  CHECK_THROWS_WITH(cross_entropy(z.to(DType::BF16), ids_tensor({0, 1, 2, 3}, {4})),
                    Contains("cross_entropy: dtype bf16 is not supported"));
  CHECK_THROWS_WITH(mse(z.to(DType::BF16), z.to(DType::BF16)), Contains("mse: dtype bf16 is not supported"));
}
