// Golden test: gelu (engine/ops/elementwise.h), both kinds, forward and derivative, against PyTorch float64
// F.gelu(x) and F.gelu(x, approximate='tanh') on 200 points of [-8, 8] (tests/golden/gelu.py).
//
// Tolerance 1e-14 absolute: on [-8, 8], |gelu| <= 8 and |gelu'| <= 1.13. Both sides evaluate the same closed
// forms in double with erf/tanh/exp accurate to ~1 ulp, in different operation orders, so they differ by a few
// ulps of the result (ulp(8) = 1.8e-15). The two GELUs differ by up to 5e-4 here, so a swapped kind or a wrong
// constant fails by ten orders of magnitude.
#include "engine/ops/elementwise.h"
#include "engine/safetensors.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <string>

using namespace docbert;
using namespace docbert::test;

TEST_CASE("golden: gelu erf and tanh match PyTorch float64", "[golden]") {
  const auto g = load_fixture("gelu");
  constexpr double kTol = 1e-14;
  for (GeluKind kind : {GeluKind::Erf, GeluKind::Tanh}) {
    const std::string name = kind == GeluKind::Erf ? "erf" : "tanh";
    Tensor x = g.at("x").clone().set_requires_grad(true);
    Tensor y = gelu(x, kind);
    y.backward(Tensor::full(y.shape(), 1.0, DType::F64));
    check_close(y, g.at(name), kTol, Tol::Absolute, "gelu " + name + " value");
    check_close(x.grad(), g.at("d" + name), kTol, Tol::Absolute, "gelu " + name + " derivative");
  }
}
