// Op table: the differentiable cast (engine/ops/cast.h).
#include "engine/ops/cast.h"
#include "engine/ops/elementwise.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

using namespace docbert;
using namespace docbert::test;

TEST_CASE("op cast", "[op]") {
  // f32 <-> f64 round trips are exact both ways, so the f64 gradient check sees the identity's gradient through two
  // casts (one of them the identity itself in the f64 pass), and the f32 pass (and the GPU pass) a real f32 -> f64
  // -> f32 conversion with its backward conversions.
  const int64_t n = GENERATE(1, 3, 33, 1025);
  OpCase c;
  c.name = fmt::format("cast round trip ({})", n);
  c.inputs = {uniform({n})};
  c.forward = [](const std::vector<Tensor>& in) {
    const DType t = in[0].dtype();
    return std::vector<Tensor>{scale(cast(cast(in[0], DType::F64), t), 3.0)};
  };
  check_op(c);
}

TEST_CASE("cast to bf16 rounds once to nearest even and its gradient is rounded back", "[op]") {
  // 1 + 2^-8 + 2^-30 is above the midpoint between two bf16 neighbours only by the 2^-30: a double -> float ->
  // bf16 path would round it twice, down to 1; one correct rounding gives 1 + 2^-7.
  Tensor x = Tensor::from_vector<double>({1.0 + 1.0 / 256 + 1.0 / (1 << 30), -3.0, 0.1}, {3}).set_requires_grad(true);
  Tensor y = cast(x, DType::BF16);
  REQUIRE(y.dtype() == DType::BF16);
  const std::vector<float> v = y.to(DType::F32).to_vector<float>();
  CHECK(v[0] == 1.0f + 1.0f / 128);
  CHECK(v[1] == -3.0f);
  CHECK(v[2] == bf16::from_double(0.1).to_float());
  Tensor seed =
      Tensor::from_vector<bf16>({bf16::from_float(0.5f), bf16::from_float(1.0f), bf16::from_float(-2.0f)}, {3});
  y.backward(seed);
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0.5, 1.0, -2.0});
  CHECK(cast(x, DType::F64).same_as(x));  // no conversion, no copy
  CHECK_THROWS_WITH(cast(x, DType::I64), Catch::Contains("cast: the target dtype must be a float type"));
}
