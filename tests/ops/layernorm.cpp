// Op table: LayerNorm (engine/ops/layernorm.h). Values against PyTorch: tests/engine/golden_layernorm.cpp.
#include "engine/ops/layernorm.h"
#include "engine/parallel.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace docbert;
using namespace docbert::test;

TEST_CASE("op layer_norm", "[op]") {
  const int64_t C = GENERATE(1, 3, 31, 33, 127, 513, 384, 768, 1024);
  const int64_t T = GENERATE(1, 5);
  OpCase c;
  c.name = fmt::format("layer_norm x (2,{},{})", T, C);
  // gamma around 1 as after init, x with an offset so the mean subtraction matters.
  c.inputs = {uniform({2, T, C}, -0.5, 1.5), uniform({C}, 0.5, 1.5), uniform({C})};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{layer_norm(in[0], in[1], in[2], 1e-5)}; };
  // Every output of a row moves with each x (through mean and rstd), so at the default step the roundoff of C outputs
  // reaches 4e-7 of small gradients; a 1e-4 step keeps the worst of 400 sampled elements under 2e-8 for every C.
  c.fd_eps = 1e-4;
  // With C == 1 the exact gradient of x is 0, but it is the cancellation of terms of size rstd*|gamma*dout|
  // (~300 at eps 1e-5); f32 leaves ~1.4e-5 of that, i.e. 5e-8 relative to the terms. Compare against the terms'
  // scale instead of against the exact 0.
  if (C == 1) c.f32_grad_floor = 300;
  check_op(c);
}

TEST_CASE("op layer_norm with C == 1 returns beta and zero gradients for x and gamma", "[op]") {
  const std::vector<InputSpec> specs = {uniform({4, 1}), uniform({1}), uniform({1})};
  std::vector<Tensor> in = random_inputs(specs, DType::F64);
  for (Tensor& t : in) t.set_requires_grad(true);
  Tensor y = layer_norm(in[0], in[1], in[2], 1e-12);
  for (double v : y.to_vector<double>()) CHECK(v == in[2].item());
  y.backward(Tensor::full({4, 1}, 1.0, DType::F64));
  for (double g : in[0].grad().to_vector<double>()) CHECK(g == 0);
  CHECK(in[1].grad().item() == 0);
  CHECK(in[2].grad().item() == 4);
}

TEST_CASE("layer_norm in f32 stays accurate when |mean| >> std", "[op]") {
  // Rows of 768 values in [99, 101] at BERT's eps. The f32 input itself is rounded by up to 3.8e-6 (half an ulp of
  // 100), i.e. ~1e-5 after normalising: 3e-6 of max |out| ~ 3.6. An f32 row sum would add ~1e-4 of the std (fails),
  // a one-pass E[x^2] - E[x]^2 would lose everything.
  const std::vector<InputSpec> specs = {uniform({8, 768}, 99, 101), uniform({768}, 0.5, 1.5), uniform({768})};
  std::vector<Tensor> in64 = random_inputs(specs, DType::F64), in32 = random_inputs(specs, DType::F32);
  Tensor ref = layer_norm(in64[0], in64[1], in64[2], 1e-12), out = layer_norm(in32[0], in32[1], in32[2], 1e-12);
  double scale = 0;
  for (double v : ref.to_vector<double>()) scale = std::max(scale, std::abs(v));
  CHECK(max_abs_diff(out, ref) <= 2e-5 * scale);
}

TEST_CASE("layer_norm gradients are bit-identical across thread counts", "[op][determinism]") {
  auto run = [](int threads) {
    ScopedThreads scoped(threads);
    const std::vector<InputSpec> specs = {uniform({4, 64, 768}), uniform({768}), uniform({768}), uniform({4, 64, 768})};
    std::vector<Tensor> in = random_inputs(specs, DType::F32);
    for (int k = 0; k < 3; ++k) in[k].set_requires_grad(true);
    layer_norm(in[0], in[1], in[2], 1e-12).backward(in[3]);
    return std::vector<Tensor>{in[0].grad(), in[1].grad(), in[2].grad()};
  };
  std::vector<Tensor> one = run(1), three = run(3);
  for (size_t k = 0; k < one.size(); ++k) {
    INFO("gradient of input " << k);
    CHECK(bit_equal(one[k], three[k]));
  }
}

TEST_CASE("layer_norm rejects bad arguments with the op name", "[op][errors]") {
  Tensor x = Tensor::zeros({2, 8}), g = Tensor::zeros({8}), b = Tensor::zeros({8});
  CHECK_THROWS_WITH(layer_norm(x, Tensor::zeros({7}), b, 1e-5), Catch::Contains("layer_norm: shape mismatch") &&
                                                                    Catch::Contains("(7)") && Catch::Contains("(2,8)"));
  CHECK_THROWS_WITH(layer_norm(x, g, Tensor::zeros({8}, DType::F64), 1e-5),
                    Catch::Contains("layer_norm: dtype mismatch"));
  CHECK_THROWS_WITH(layer_norm(Tensor::zeros({2, 8}, DType::I64), g, b, 1e-5),
                    Catch::Contains("layer_norm: 'x' must be a float tensor"));
  CHECK_THROWS_WITH(layer_norm(x, g, b, -1), Catch::Contains("layer_norm: eps must be > 0, got -1"));
  // eps = 0 would give rstd = inf for a constant row (variance 0), and NaN outputs; NaN eps is rejected too.
  CHECK_THROWS_WITH(layer_norm(x, g, b, 0), Catch::Contains("layer_norm: eps must be > 0, got 0"));
  CHECK_THROWS_WITH(layer_norm(x, g, b, std::nan("")), Catch::Contains("layer_norm: eps must be > 0"));
}
