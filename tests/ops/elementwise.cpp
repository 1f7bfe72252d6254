// Op table: pointwise ops (engine/ops/elementwise.h).
#include "engine/ops/elementwise.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

using namespace docbert;
using namespace docbert::test;

// Awkward sizes (not multiples of any vector width) plus BERT's hidden sizes.
#define AWKWARD_N GENERATE(1, 3, 31, 33, 127, 513)

TEST_CASE("op gelu", "[op]") {
  const int64_t n = AWKWARD_N;
  const GeluKind kind = GENERATE(GeluKind::Erf, GeluKind::Tanh);
  OpCase c;
  c.name = fmt::format("gelu {} ({},3)", kind == GeluKind::Erf ? "erf" : "tanh", n);
  c.inputs = {uniform({n, 3}, -4, 4)};  // wide range: both tails of the curve
  c.forward = [kind](const std::vector<Tensor>& in) { return std::vector<Tensor>{gelu(in[0], kind)}; };
  check_op(c);
}

TEST_CASE("op gelu real sizes", "[op]") {
  const int64_t C = GENERATE(384, 768, 1024);
  OpCase c;
  c.name = fmt::format("gelu erf (4,{})", 4 * C);
  c.inputs = {uniform({4, 4 * C}, -4, 4)};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{gelu(in[0])}; };
  check_op(c);
}

TEST_CASE("op tanh sigmoid scale", "[op]") {
  const int64_t n = AWKWARD_N;
  for (int which = 0; which < 3; ++which) {
    OpCase c;
    c.name = fmt::format("unary #{} ({},5)", which, n);
    c.inputs = {uniform({n, 5}, -6, 6)};
    c.forward = [which](const std::vector<Tensor>& in) {
      return std::vector<Tensor>{which == 0 ? docbert::tanh(in[0]) : which == 1 ? sigmoid(in[0]) : scale(in[0], -2.5)};
    };
    check_op(c);
  }
}

TEST_CASE("op relu", "[op]") {
  const int64_t n = AWKWARD_N;
  OpCase c;
  c.name = fmt::format("relu ({},4)", n);
  c.inputs = {away_from_zero({n, 4}, 0.05)};  // the kink at 0 has no derivative
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{relu(in[0])}; };
  check_op(c);
}

TEST_CASE("op add mul with bias broadcast", "[op]") {
  const int64_t n = AWKWARD_N;
  const int64_t C = GENERATE(1, 33, 768);
  for (bool is_mul : {false, true}) {
    for (int bshape = 0; bshape < 3; ++bshape) {
      // b is a bias (C), a per-position table (n,C), or a full (2,n,C) operand.
      Shape bs = bshape == 0 ? Shape{C} : bshape == 1 ? Shape{n, C} : Shape{2, n, C};
      OpCase c;
      c.name = fmt::format("{} (2,{},{}) with {}", is_mul ? "mul" : "add", n, C, shape_str(bs));
      c.inputs = {uniform({2, n, C}), uniform(bs)};
      c.forward = [is_mul](const std::vector<Tensor>& in) {
        return std::vector<Tensor>{is_mul ? mul(in[0], in[1]) : add(in[0], in[1])};
      };
      check_op(c);
    }
  }
}

TEST_CASE("elementwise ops reject bad arguments with the op name", "[op][errors]") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({2});
  CHECK_THROWS_WITH(add(a, b),
                    Catch::Contains("add: shape mismatch") && Catch::Contains("(2,3)") && Catch::Contains("(2)"));
  CHECK_THROWS_WITH(mul(a, Tensor::zeros({3}, DType::F64)), Catch::Contains("mul: dtype mismatch"));
  CHECK_THROWS_WITH(gelu(Tensor::zeros({3}, DType::I64)), Catch::Contains("gelu") && Catch::Contains("must be a float tensor"));
}
