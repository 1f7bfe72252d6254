// Op table: masked max-pooling over time (engine/ops/pool.h).
#include "engine/ops/pool.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

using namespace docbert;
using namespace docbert::test;

TEST_CASE("op masked_max_pool", "[op]") {
  const int64_t T = GENERATE(1, 3, 31, 33);
  const int64_t C = GENERATE(1, 3, 33, 512);
  const bool i32 = GENERATE(false, true);
  // Ragged lengths including 1 and T; distinct() inputs make every argmax unique, so the max is differentiable.
  Tensor lengths = ids_tensor({T, 1, (T + 1) / 2, T}, {4});
  OpCase c;
  c.name =
      fmt::format("masked_max_pool x (4,{},{}) lengths ({},1,{},{}) {}", T, C, T, (T + 1) / 2, T, i32 ? "i32" : "i64");
  c.inputs = {distinct({4, T, C}), fixed(i32 ? lengths.to(DType::I32) : lengths)};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{masked_max_pool(in[0], in[1])}; };
  check_op(c);
}

TEST_CASE("masked_max_pool ignores padding and routes ties to the first index", "[op]") {
  // x (2,3,2); row 1 has length 1, so its padded rows (which hold larger values) must not win.
  Tensor x = Tensor::from_vector<double>({1, 5, 3, 5, 2, 0,     // batch 0: c0 max 3 at t=1; c1 tie 5 at t=0,1
                                          -4, -2, 9, 9, 8, 8},  // batch 1, length 1: only t=0 counts
                                         {2, 3, 2});
  x.set_requires_grad(true);
  Tensor out = masked_max_pool(x, ids_tensor({3, 1}, {2}));
  CHECK(out.to_vector<double>() == std::vector<double>{3, 5, -4, -2});
  out.backward(Tensor::from_vector<double>({10, 20, 30, 40}, {2, 2}));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 20, 10, 0, 0, 0, 30, 40, 0, 0, 0, 0});
}

TEST_CASE("masked_max_pool rejects bad arguments with the op name", "[op][errors]") {
  Tensor x = Tensor::zeros({2, 5, 3});
  CHECK_THROWS_WITH(masked_max_pool(x, ids_tensor({5, 0}, {2})),
                    Catch::Contains("masked_max_pool: lengths[1] = 0 is outside [1, 6) in 'lengths' (2)"));
  CHECK_THROWS_WITH(masked_max_pool(x, ids_tensor({6, 1}, {2})),
                    Catch::Contains("masked_max_pool: lengths[0] = 6 is outside [1, 6) in 'lengths' (2)"));
  CHECK_THROWS_WITH(masked_max_pool(x, ids_tensor({1, 1, 1}, {3})), Catch::Contains("masked_max_pool: shape mismatch"));
  CHECK_THROWS_WITH(masked_max_pool(Tensor::zeros({2, 5}), ids_tensor({1, 1}, {2})),
                    Catch::Contains("masked_max_pool: 'x' must have 3 dimensions"));
  CHECK_THROWS_WITH(masked_max_pool(x, Tensor::zeros({2})), Catch::Contains("masked_max_pool: 'lengths' must be i32"));
}
