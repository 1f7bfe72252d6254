// Op table: softmax and log_softmax over the last dim (engine/ops/softmax.h).
#include "engine/ops/softmax.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace docbert;
using namespace docbert::test;

namespace {

OpCase softmax_case(bool log, Shape shape, double lo, double hi) {
  OpCase c;
  c.name = fmt::format("{} {} in [{}, {}]", log ? "log_softmax" : "softmax", shape_str(shape), lo, hi);
  c.inputs = {uniform(std::move(shape), lo, hi)};
  c.forward = [log](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{log ? log_softmax(in[0]) : softmax(in[0])};
  };
  return c;
}

}  // namespace

TEST_CASE("op softmax log_softmax", "[op]") {
  const int64_t K = GENERATE(1, 2, 3, 31, 33, 127, 513);
  for (bool log : {false, true}) check_op(softmax_case(log, {3, 5, K}, -4, 4));
}

TEST_CASE("op softmax log_softmax attention rows", "[op]") {
  // One head's (T,T) scores at T = 512.
  for (bool log : {false, true}) check_op(softmax_case(log, {4, 512}, -8, 8));
}

TEST_CASE("op softmax log_softmax at large magnitude", "[op]") {
  // Inputs in [-80, 80]: exp(80) overflows f32 without the max subtraction. log_softmax outputs reach -160, and
  // f32 keeps them to ~1e-5 relative to that, within the default f32 tolerance.
  const int64_t K = GENERATE(2, 33, 513);
  for (bool log : {false, true}) check_op(softmax_case(log, {3, K}, -80, 80));
}

TEST_CASE("softmax and log_softmax values at +-80 in f32 and f64", "[op]") {
  // Row 0 all +80: uniform. Row 1 [80, -80, 80, -80]: two equal winners; the losers are e^-160 (0 in f32).
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = Tensor::from_vector<double>({80, 80, 80, 80, 80, -80, 80, -80}, {2, 4}).to(dt);
    auto p = softmax(x).to_vector<double>(), lp = log_softmax(x).to_vector<double>();
    const double tol = dt == DType::F32 ? 1e-6 : 1e-15;
    const double tiny = 0.5 * std::exp(-160.0);  // far below f32's smallest subnormal
    for (int k = 0; k < 4; ++k) {
      CHECK(std::abs(p[k] - 0.25) <= tol);
      CHECK(std::abs(lp[k] + std::log(4.0)) <= tol);
      CHECK(std::abs(p[4 + k] - (k % 2 == 0 ? 0.5 : (dt == DType::F32 ? 0.0 : tiny))) <= tol * 0.5);
      // log_softmax stays exact where softmax underflows: -log 2, and -160 - log 2 for the losers.
      CHECK(std::abs(lp[4 + k] - (k % 2 == 0 ? -std::log(2.0) : -160 - std::log(2.0))) <= tol * 160);
    }
  }
}

TEST_CASE("softmax matches exp(x) / sum exp(x) on moderate inputs", "[op]") {
  std::vector<Tensor> in = make_inputs(softmax_case(false, {6, 7}, -3, 3), DType::F64);
  const double* x = in[0].data<double>();
  std::vector<double> ref(42), lref(42);
  for (int r = 0; r < 6; ++r) {
    double sum = 0;
    for (int k = 0; k < 7; ++k) sum += std::exp(x[r * 7 + k]);
    for (int k = 0; k < 7; ++k) {
      ref[r * 7 + k] = std::exp(x[r * 7 + k]) / sum;
      lref[r * 7 + k] = x[r * 7 + k] - std::log(sum);
    }
  }
  CHECK(max_abs_diff(softmax(in[0]), Tensor::from_vector(ref, {6, 7})) < 1e-15);
  CHECK(max_abs_diff(log_softmax(in[0]), Tensor::from_vector(lref, {6, 7})) < 1e-14);
}

TEST_CASE("softmax rejects bad arguments with the op name", "[op][errors]") {
  CHECK_THROWS_WITH(softmax(Tensor::zeros({3}, DType::I32)), Catch::Contains("softmax: 'x' must be a float tensor"));
  CHECK_THROWS_WITH(log_softmax(Tensor::zeros({3, 0})),
                    Catch::Contains("log_softmax: 'x'") && Catch::Contains("non-empty last dim"));
  CHECK_THROWS_WITH(softmax(Tensor::scalar(1.0)), Catch::Contains("softmax: 'x'"));
}
