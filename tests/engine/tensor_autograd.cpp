// Tensor basics, views, dtype conversion, error messages, and the autograd tape's rules.
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/random.h"
#include "kernels/philox.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace docbert;

TEST_CASE("tensor: shape, dtype, views share storage", "[tensor]") {
  Tensor t = Tensor::zeros({4, 3});
  CHECK(t.numel() == 12);
  CHECK(t.size(-1) == 3);
  CHECK(t.dtype() == DType::F32);
  Tensor v = t.reshape({2, -1});
  CHECK(v.shape() == Shape{2, 6});
  v.data<float>()[5] = 7.f;
  CHECK(t.data<float>()[5] == 7.f);
  Tensor rows = t.slice_rows(1, 3);
  CHECK(rows.shape() == Shape{2, 3});
  CHECK(rows.data<float>()[2] == 7.f);  // row 1, column 2 of t is element 5
  CHECK_THROWS_WITH(t.reshape({5, -1}), Catch::Contains("reshape") && Catch::Contains("(4,3)"));
  CHECK_THROWS_WITH(t.slice_rows(2, 5), Catch::Contains("slice_rows"));
  CHECK_THROWS_WITH(t.data<double>(), Catch::Contains("data<f64>") && Catch::Contains("f32"));
  CHECK_THROWS_WITH(Tensor().shape(), Catch::Contains("undefined"));
}

TEST_CASE("tensor: dtype conversions, bf16 rounding", "[tensor]") {
  Tensor t = Tensor::from_vector<float>({1.0f, -2.5f, 3.1415927f, 1e-3f}, {4});
  auto back = t.to(DType::BF16).to(DType::F32).to_vector<float>();
  CHECK(back[0] == 1.0f);
  CHECK(back[1] == -2.5f);
  CHECK(back[2] == Approx(3.140625f));  // pi rounds to the nearest bf16, 3.140625
  CHECK(std::abs(back[3] - 1e-3f) < 1e-5f);
  // Round to nearest even at the halfway point: 1 + 2^-8 is exactly between two bf16 values.
  CHECK(bf16::from_float(1.00390625f).bits == bf16::from_float(1.0f).bits);
  // From double, one rounding: 1 + 2^-8 + 2^-30 is above the tie, so 1.0078125 (via f32 it would tie and give 1).
  const double above_tie = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30);
  CHECK(bf16::from_double(above_tie).to_float() == 1.0078125f);
  CHECK(bf16::from_double(-above_tie).to_float() == -1.0078125f);
  CHECK(bf16::from_double(1.0 + std::ldexp(1.0, -8)).to_float() == 1.0f);  // an exact tie still goes to even
  CHECK(bf16::from_double(1.0 + 3 * std::ldexp(1.0, -8)).to_float() == 1.015625f);
  CHECK(bf16::from_double(3.1415927).to_float() == 3.140625f);
  CHECK(std::isnan(bf16::from_double(std::nan("")).to_float()));
  CHECK(bf16::from_double(1e300).bits == 0x7f80);    // beyond float's range: inf
  CHECK(bf16::from_double(-1e300).bits == 0xff80);   // -inf
  CHECK(bf16::from_double(3.4e38).bits == 0x7f80);   // above bf16's largest finite value + half an ulp: inf
  CHECK(bf16::from_double(3.39e38).bits == 0x7f7f);  // below it: bf16's largest finite value
  CHECK(bf16::from_double(std::numeric_limits<double>::infinity()).bits == 0x7f80);
  CHECK(bf16::from_double(-0.0).bits == 0x8000);
  CHECK(bf16::from_double(1e-300).bits == 0x0000);                 // far below bf16's smallest subnormal
  CHECK(bf16::from_double(std::ldexp(1.0, -133)).bits == 0x0001);  // bf16's smallest subnormal
  // Every f32 value converts as from_float does (a float is exact in double).
  for (float f : {1.0f, 1.00390625f, 1.01171875f, -2.5f, 3.1415927f, 1e-3f, 3.4e38f, std::ldexp(1.0f, -140)})
    CHECK(bf16::from_double(f).bits == bf16::from_float(f).bits);
  // Tensor::to rounds f64 once too.
  CHECK(Tensor::scalar(above_tie, DType::F64).to(DType::BF16).item() == 1.0078125);
  CHECK(Tensor::from_vector<int64_t>({3, 4}, {2}).to(DType::F64).to_vector<double>()[1] == 4.0);
  CHECK(Tensor::scalar(2.5, DType::F64).item() == 2.5);
}

#ifndef DOCBERT_WITH_CUDA
TEST_CASE("tensor: cuda tensors need a CUDA build", "[tensor]") {
  CHECK_THROWS_WITH(Tensor::zeros({2}, DType::F32, Device::CUDA), Catch::Contains("without CUDA"));
}
#endif

TEST_CASE("philox: known-answer vectors of Philox4x32-10", "[rng]") {
  // Random123's published known-answer test (kat_vectors): counter 0, key 0 and counter/key all ones.
  Philox4 a = philox4x32(0, 0, 0);
  CHECK(a.v[0] == 0x6627e8d5u);
  CHECK(a.v[1] == 0xe169c58du);
  CHECK(a.v[2] == 0xbc57ac4cu);
  CHECK(a.v[3] == 0x9b00dbd8u);
  Philox4 b = philox4x32(~0ull, ~0ull, ~0ull);
  CHECK(b.v[0] == 0x408f276du);
  CHECK(b.v[1] == 0x41c83b0eu);
  CHECK(b.v[2] == 0xa20bc7c6u);
  CHECK(b.v[3] == 0x6d5451fdu);
}

TEST_CASE("random: streams are reproducible and disjoint", "[rng]") {
  Tensor a = Tensor::empty({1000}), b = Tensor::empty({1000}), c = Tensor::empty({1000});
  RngStream r1{42, 0}, r2{42, 0};
  normal_fill(a, 0, 0.02, r1);
  normal_fill(b, 0, 0.02, r2);
  normal_fill(c, 0, 0.02, r1);  // next slice of the same stream
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  CHECK(a.to_vector<float>() != c.to_vector<float>());
  double mean = 0, var = 0;
  for (float v : a.to_vector<float>()) mean += v / 1000.0;
  for (float v : a.to_vector<float>()) var += (v - mean) * (v - mean) / 1000.0;
  CHECK(std::abs(mean) < 0.003);  // 0.02/sqrt(1000) = 6e-4 standard error
  CHECK(std::sqrt(var) == Approx(0.02).epsilon(0.1));
}

TEST_CASE("autograd: fan-out accumulates, leaves keep accumulating, tape is released", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({0.5, -1.0, 2.0}, {3});
  x.set_requires_grad(true);
  // y = x*x + tanh(x): x is used three times; d/dx = 2x + 1 - tanh^2(x)
  Tensor y = add(mul(x, x), docbert::tanh(x));
  CHECK(tape_size() == 3);
  y.backward(Tensor::full({3}, 1.0, DType::F64));
  CHECK(tape_size() == 0);
  auto g = x.grad().to_vector<double>();
  for (int i = 0; i < 3; ++i) {
    double v = x.to_vector<double>()[i];
    CHECK(g[i] == Approx(2 * v + 1 - std::tanh(v) * std::tanh(v)).epsilon(1e-14));
  }
  // A second backward adds to the same leaf gradient.
  Tensor z = scale(x, 3.0);
  z.backward(Tensor::full({3}, 1.0, DType::F64));
  CHECK(x.grad().to_vector<double>()[0] == Approx(g[0] + 3.0).epsilon(1e-14));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("autograd: no-grad scope records nothing, rules on leaves", "[autograd]") {
  Tensor x = Tensor::from_vector<float>({1, 2}, {2});
  x.set_requires_grad(true);
  {
    NoGradGuard ng;
    Tensor y = scale(x, 2.0);
    CHECK_FALSE(y.requires_grad());
    CHECK(tape_size() == 0);
  }
  Tensor y = scale(x, 2.0);
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  CHECK_THROWS_WITH(y.set_requires_grad(false), Catch::Contains("only leaves"));
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("not a scalar"));
  clear_tape();
  Tensor c = Tensor::zeros({2});
  CHECK_THROWS_WITH(c.backward(Tensor::zeros({2})), Catch::Contains("does not require grad"));
  CHECK_THROWS_WITH(Tensor::zeros({2}, DType::I64).set_requires_grad(true), Catch::Contains("not a floating-point"));
}

TEST_CASE("autograd: gradients flow through reshape and row slices", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  x.set_requires_grad(true);
  Tensor rows = x.slice_rows(1, 3).reshape({4});
  Tensor y = mul(rows, rows);
  y.backward(Tensor::full({4}, 1.0, DType::F64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0, 6, 8, 10, 12});
}
