// Op table: concat and slice along any dim (engine/ops/shape.h).
#include "engine/ops/shape.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

using namespace docbert;
using namespace docbert::test;

TEST_CASE("op concat", "[op]") {
  const int64_t n = GENERATE(1, 3, 31, 33);
  // Every dim of a rank-3 tensor, by positive and negative index; the parts differ in size along it.
  for (int64_t dim = -3; dim < 3; ++dim) {
    const int64_t d = dim < 0 ? dim + 3 : dim;
    std::vector<InputSpec> parts;
    for (int64_t size : {n, int64_t{1}, int64_t{5}}) {
      Shape s = {2, 3, 4};
      s[d] = size;
      parts.push_back(uniform(s));
    }
    OpCase c;
    c.name = fmt::format("concat dim {} of {},{},{}", dim, shape_str(parts[0].shape), shape_str(parts[1].shape),
                         shape_str(parts[2].shape));
    c.inputs = parts;
    c.forward = [dim](const std::vector<Tensor>& in) { return std::vector<Tensor>{concat(in, dim)}; };
    check_op(c);
  }
}

TEST_CASE("op concat BiLSTM directions", "[op]") {
  // Two (B,T,H) directions -> (B,T,2H), with one input not requiring grad.
  OpCase c;
  c.name = "concat (4,33,512) x2 on dim -1";
  c.inputs = {uniform({4, 33, 512}), uniform_nograd({4, 33, 512})};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{concat(in, -1)}; };
  check_op(c);
}

TEST_CASE("op slice", "[op]") {
  const int64_t n = GENERATE(1, 3, 31, 33);
  for (int64_t dim = -3; dim < 3; ++dim) {
    const int64_t d = dim < 0 ? dim + 3 : dim;
    Shape s = {3, 4, 5};
    s[d] = n;
    // A middle part where there is one, else the whole dim; and the first element (BERT's [CLS] row).
    for (auto range : {std::pair<int64_t, int64_t>{n / 3, n - n / 3}, std::pair<int64_t, int64_t>{0, 1}}) {
      OpCase c;
      c.name = fmt::format("slice {} dim {} [{}, {})", shape_str(s), dim, range.first, range.second);
      c.inputs = {uniform(s)};
      c.forward = [dim, range](const std::vector<Tensor>& in) {
        return std::vector<Tensor>{slice(in[0], dim, range.first, range.second)};
      };
      check_op(c);
    }
  }
}

TEST_CASE("op slice [CLS] row of a BERT sequence", "[op]") {
  OpCase c;
  c.name = "slice (2,512,768) dim 1 [0,1)";
  c.inputs = {uniform({2, 512, 768})};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{slice(in[0], 1, 0, 1)}; };
  check_op(c);
}

TEST_CASE("concat and slice move the right elements, for any dtype", "[op]") {
  // x = [[0,1,2],[3,4,5]] as i64 (ids pass through the same code as floats).
  Tensor x = ids_tensor({0, 1, 2, 3, 4, 5}, {2, 3}), y = ids_tensor({6, 7}, {2, 1});
  CHECK(concat({x, y}, 1).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 6, 3, 4, 5, 7});
  CHECK(concat({x, x}, 0).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  CHECK(slice(x, -1, 1, 3).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 4, 5});
  CHECK(slice(x, 0, 1, 2).to_vector<int64_t>() == std::vector<int64_t>{3, 4, 5});
  CHECK(slice(x, 1, 2, 2).shape() == Shape{2, 0});
  // slice undoes concat
  Tensor c = concat({x, y}, -1);
  CHECK(slice(c, 1, 0, 3).to_vector<int64_t>() == x.to_vector<int64_t>());
  CHECK(slice(c, 1, 3, 4).to_vector<int64_t>() == y.to_vector<int64_t>());
}

TEST_CASE("concat and slice reject bad arguments with the op name", "[op][errors]") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({2, 4});
  CHECK_THROWS_WITH(concat({a, b}, 0), Catch::Contains("concat: shape mismatch: xs[0] is (2,3) but xs[1] is (2,4)") &&
                                           Catch::Contains("only dim 0 may differ"));
  CHECK_THROWS_WITH(concat({a, Tensor::zeros({2, 3}, DType::F64)}, 0), Catch::Contains("concat: dtype mismatch"));
  CHECK_THROWS_WITH(concat({a, Tensor::zeros({2, 3, 1})}, 0), Catch::Contains("concat: shape mismatch"));
  CHECK_THROWS_WITH(concat({}, 0), Catch::Contains("concat: needs at least one tensor"));
  CHECK_THROWS_WITH(concat({a}, 2), Catch::Contains("concat: dim 2 is out of range"));
  CHECK_THROWS_WITH(slice(a, -3, 0, 1), Catch::Contains("slice: dim -3 is out of range"));
  CHECK_THROWS_WITH(slice(a, 1, 2, 4), Catch::Contains("slice: [2, 4) is outside dim 1 (size 3) of 'x' (2,3)"));
  CHECK_THROWS_WITH(slice(a, 1, 2, 1), Catch::Contains("slice: [2, 1) is outside"));
}
