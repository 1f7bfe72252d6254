// Op table: masked multi-head self-attention (engine/ops/attention.h).
#include "engine/ops/attention.h"
#include "engine/autograd.h"
#include "kernels/philox.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace docbert;
using namespace docbert::test;

namespace {

// (B,T) f64 additive key mask: 0 at t < lens[b], `neg` after (HF's extended attention mask).
Tensor padding_mask(const std::vector<int64_t>& lens, int64_t T, double neg = -10000) {
  std::vector<double> m;
  for (int64_t len : lens)
    for (int64_t t = 0; t < T; ++t) m.push_back(t < len ? 0.0 : neg);
  return Tensor::from_vector(m, {static_cast<int64_t>(lens.size()), T});
}

OpCase attention_case(int64_t B, int64_t T, int64_t NH, int64_t HS, const std::vector<int64_t>& lens, double p) {
  const int64_t C = NH * HS;
  OpCase c;
  c.name =
      fmt::format("self_attention B={} T={} NH={} HS={} lens {} dropout {}", B, T, NH, HS, fmt::join(lens, ","), p);
  c.inputs = {uniform({B, T, 3 * C}), fixed(padding_mask(lens, T))};
  c.forward = [NH, p](const std::vector<Tensor>& in) {
    // A fixed key, so every finite-difference forward draws the same dropout mask.
    return std::vector<Tensor>{self_attention(in[0], in[1], NH, p, 42, 7, true)};
  };
  return c;
}

}  // namespace

TEST_CASE("op self_attention", "[op]") {
  const int64_t HS = GENERATE(1, 3, 32, 64);
  const int64_t T = GENERATE(1, 3, 31, 33);
  const int64_t NH = GENERATE(1, 2, 12);
  const double p = GENERATE(0.0, 0.1);
  // The second sequence is padded (a third of it) wherever T allows it.
  check_op(attention_case(2, T, NH, HS, {T, T - T / 3}, p));
}

TEST_CASE("op self_attention BERT-base shape", "[op]") {
  // B=1, T=128, C=768, NH=12 with a padded tail; 48 sampled gradient elements keep it to a few seconds.
  OpCase c = attention_case(1, 128, 12, 64, {100}, 0.1);
  c.max_checks = 48;
  // 98k outputs move per perturbation; at the default step their roundoff reaches ~1.3e-7 with FMA
  // (-march=native). The op is smooth, so a larger step costs no truncation error (worst then ~1e-9).
  c.fd_eps = 1e-4;
  check_op(c);
}

TEST_CASE("self_attention without a mask equals a zero mask", "[op]") {
  std::vector<Tensor> in = make_inputs(attention_case(2, 5, 2, 3, {5, 5}, 0), DType::F64);
  Tensor a = self_attention(in[0], Tensor(), 2), b = self_attention(in[0], in[1], 2);
  CHECK(max_abs_diff(a, b) == 0);
}

TEST_CASE("self_attention dropout follows the Philox convention", "[op]") {
  // A naive reference: element (b,h,i,j) of the probabilities uses Philox word ((b*NH + h)*T + i)*T + j.
  const int64_t B = 2, T = 5, NH = 2, HS = 3, C = NH * HS;
  const double p = 0.3;
  const uint64_t seed = 9, offset = 123;
  std::vector<Tensor> in = make_inputs(attention_case(B, T, NH, HS, {5, 3}, p), DType::F64);
  const double* qkv = in[0].data<double>();
  const double* mask = in[1].data<double>();
  Tensor ref = Tensor::zeros({B, T, C}, DType::F64);
  double* r = ref.data<double>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> s(T);
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < T; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < HS; ++e)
            dot += qkv[(b * T + i) * 3 * C + h * HS + e] * qkv[(b * T + j) * 3 * C + C + h * HS + e];
          s[j] = dot / std::sqrt(double(HS)) + mask[b * T + j];
          mx = std::max(mx, s[j]);
        }
        for (double& v : s) sum += (v = std::exp(v - mx));
        for (int64_t j = 0; j < T; ++j) {
          const uint64_t idx = static_cast<uint64_t>(((b * NH + h) * T + i) * T + j);
          const double pd = philox_uniform(seed, offset, idx) >= static_cast<float>(p) ? s[j] / sum / (1 - p) : 0;
          for (int64_t e = 0; e < HS; ++e)
            r[(b * T + i) * C + h * HS + e] += pd * qkv[(b * T + j) * 3 * C + 2 * C + h * HS + e];
        }
      }
  CHECK(max_abs_diff(self_attention(in[0], in[1], NH, p, seed, offset, true), ref) < 1e-14);
  // Recording (P saved, the dropout applied to a copy) and not recording (dropout in place) agree bit for bit.
  Tensor x = in[0].clone();
  x.set_requires_grad(true);
  CHECK(max_abs_diff(self_attention(x, in[1], NH, p, seed, offset, true),
                     self_attention(in[0], in[1], NH, p, seed, offset, true)) == 0);
  clear_tape();
  // Evaluation mode ignores dropout_p.
  CHECK(max_abs_diff(self_attention(in[0], in[1], NH, p, seed, offset, false), self_attention(in[0], in[1], NH)) == 0);
}

TEST_CASE("self_attention is invariant to padding", "[op]") {
  // Outputs at the real positions of a padded batch equal each sequence run alone, unpadded: padded keys get
  // exactly zero probability, so only the summation order may differ (hence 1e-12, not 0).
  const int64_t T = 9, NH = 3, HS = 4, C = NH * HS;
  const std::vector<int64_t> lens{9, 5, 1};
  const double neg = GENERATE(-10000.0, std::numeric_limits<double>::lowest());
  std::vector<Tensor> in = make_inputs(attention_case(3, T, NH, HS, lens, 0), DType::F64);
  Tensor out = self_attention(in[0], padding_mask(lens, T, neg), NH);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t len = lens[b];
    Tensor qkv_b = Tensor::empty({1, len, 3 * C}, DType::F64);
    std::copy_n(in[0].data<double>() + b * T * 3 * C, len * 3 * C, qkv_b.data<double>());
    Tensor alone = self_attention(qkv_b, Tensor(), NH);
    Tensor got = Tensor::empty({1, len, C}, DType::F64);
    std::copy_n(out.data<double>() + b * T * C, len * C, got.data<double>());
    INFO("sequence " << b << " mask value " << neg);
    CHECK(max_abs_diff(got, alone) <= 1e-12);
  }
}

TEST_CASE("self_attention rejects bad arguments with the op name", "[op][errors]") {
  Tensor mask = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH(self_attention(Tensor::zeros({2, 3, 10}), mask, 2),
                    Catch::Contains("self_attention: 'qkv' last dim") && Catch::Contains("(2,3,10)"));
  CHECK_THROWS_WITH(self_attention(Tensor::zeros({2, 3, 12}), Tensor::zeros({2, 4}), 2),
                    Catch::Contains("self_attention: mask shape mismatch") && Catch::Contains("(2,4)"));
  CHECK_THROWS_WITH(self_attention(Tensor::zeros({2, 3, 12}), Tensor::zeros({2, 3}, DType::F64), 2),
                    Catch::Contains("self_attention: dtype mismatch"));
  CHECK_THROWS_WITH(self_attention(Tensor::zeros({2, 3, 12}), mask, 2, 1.0, 0, 0, true),
                    Catch::Contains("self_attention: dropout_p must be in [0, 1)"));
}
