// Op table: dropout with the Philox mask (engine/ops/dropout.h).
#include "engine/ops/dropout.h"
#include "kernels/philox.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace docbert;
using namespace docbert::test;

namespace {

constexpr uint64_t kSeed = 1234567, kOffset = 40;

// Dropout of an all-ones tensor: the kept elements read 1/(1-p), the dropped ones 0.
std::vector<float> ones_dropout(int64_t n, double p, uint64_t seed, uint64_t offset) {
  return dropout(Tensor::full({n}, 1.0), p, seed, offset, true).to_vector<float>();
}

}  // namespace

TEST_CASE("op dropout", "[op]") {
  const int64_t n = GENERATE(1, 3, 31, 33, 127, 513);
  const double p = GENERATE(0.1, 0.5, 0.9);
  OpCase c;
  c.name = fmt::format("dropout p={} (2,{},3)", p, n);
  c.inputs = {uniform({2, n, 3})};
  // A fixed key: every finite-difference forward draws the same mask, so the op is linear in x.
  c.forward = [p](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{dropout(in[0], p, kSeed, kOffset, true)};
  };
  check_op(c);
}

TEST_CASE("dropout follows the documented Philox mask convention", "[op]") {
  // Element i is kept iff philox_uniform(seed, offset, i) >= float(p) and then scaled by 1/(1-p) (in f32: the
  // GPU's 1.0f / (1.0f - p)). Checked element by element in both dtypes; the mask does not depend on the dtype.
  // 7*11*13 = 1001 elements: not a multiple of 4, so the last Philox group is partial.
  const double p = 0.3;
  const std::vector<InputSpec> specs = {uniform({7, 11, 13})};
  std::vector<Tensor> in = random_inputs(specs, DType::F64);
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = in[0].to(dt);
    auto out = dropout(x, p, kSeed, kOffset, true).to_vector<double>();
    auto xv = x.to_vector<double>();
    const float scale32 = 1.0f / (1.0f - static_cast<float>(p));
    int64_t mismatches = 0, kept = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const bool keep = philox_uniform(kSeed, kOffset, i) >= static_cast<float>(p);
      const double want = !keep ? 0.0 : dt == DType::F32 ? double(float(xv[i]) * scale32) : xv[i] * (1.0 / (1.0 - p));
      mismatches += out[i] != want;
      kept += keep;
    }
    INFO(dtype_name(dt) << ": " << kept << " of " << out.size() << " kept");
    CHECK(mismatches == 0);
  }
}

TEST_CASE("dropout keeps 1-p of the elements", "[op]") {
  const double p = GENERATE(0.1, 0.5);
  const int64_t n = 100000;
  auto out = ones_dropout(n, p, 99, 0);
  int64_t kept = 0, wrong_value = 0;
  for (float v : out) {
    kept += v != 0;
    wrong_value += v != 0 && v != 1.0f / (1.0f - static_cast<float>(p));
  }
  CHECK(wrong_value == 0);
  // Kept count ~ Binomial(n, 1-p): the rate is within 4 standard deviations with probability 1 - 6e-5.
  const double rate = static_cast<double>(kept) / n, sd = std::sqrt(p * (1 - p) / n);
  INFO("p " << p << ": kept rate " << rate << ", expected " << 1 - p << " +- " << sd);
  CHECK(std::abs(rate - (1 - p)) <= 4 * sd);
}

TEST_CASE("dropout masks are a function of (seed, offset)", "[op]") {
  const int64_t n = 4096;
  auto a = ones_dropout(n, 0.5, 7, 100), b = ones_dropout(n, 0.5, 7, 100);
  CHECK(a == b);
  CHECK(a != ones_dropout(n, 0.5, 8, 100));
  // The next call of an RngStream starts philox_advance(n) counters on: a disjoint, independent mask, so the two
  // agree on ~Binomial(n, 1/2) elements.
  auto next = ones_dropout(n, 0.5, 7, 100 + philox_advance(n));
  CHECK(a != next);
  int64_t same = 0;
  for (int64_t i = 0; i < n; ++i) same += (a[i] != 0) == (next[i] != 0);
  CHECK(std::abs(same - n / 2) < 4 * std::sqrt(n / 4.0));
}

TEST_CASE("dropout is the identity when not training or p == 0", "[op]") {
  Tensor x = Tensor::full({3, 5}, 2.0);
  x.set_requires_grad(true);
  const size_t nodes = tape_size();
  CHECK(dropout(x, 0.5, 1, 0, false).same_as(x));
  CHECK(dropout(x, 0.0, 1, 0, true).same_as(x));
  CHECK(tape_size() == nodes);
}

TEST_CASE("dropout rejects bad arguments with the op name", "[op][errors]") {
  Tensor x = Tensor::zeros({4});
  CHECK_THROWS_WITH(dropout(x, 1.0, 1, 0, true), Catch::Contains("dropout: p must be in [0, 1), got 1"));
  CHECK_THROWS_WITH(dropout(x, -0.1, 1, 0, true), Catch::Contains("dropout: p must be in [0, 1)"));
  CHECK_THROWS_WITH(dropout(x, std::nan(""), 1, 0, false), Catch::Contains("dropout: p must be in [0, 1)"));
  CHECK_THROWS_WITH(dropout(Tensor::zeros({4}, DType::I64), 0.1, 1, 0, true),
                    Catch::Contains("dropout: 'x' must be a float tensor"));
}
