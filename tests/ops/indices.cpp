// Index tensors (ids, labels, lengths): check_index and read_indices (engine/tensor.h), which embedding,
// masked_max_pool, lstm_layer and cross_entropy validate their integer arguments with.
#include "engine/tensor.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace docbert;
using namespace docbert::test;

TEST_CASE("read_indices reads i32 and i64 tensors as int64", "[op]") {
  CHECK(read_indices("op", "ids", ids_tensor({3, 0, 2}, {3}), 0, 4) == std::vector<int64_t>{3, 0, 2});
  CHECK(read_indices("op", "ids", ids_tensor({-2, 5}, {2}).to(DType::I32), -2, 6) == std::vector<int64_t>{-2, 5});
  CHECK(read_indices("op", "ids", ids_tensor({}, {0}), 0, 1).empty());
}

TEST_CASE("read_indices names the value, its position and the allowed range", "[op][errors]") {
  CHECK_THROWS_WITH(read_indices("embedding", "ids", ids_tensor({1, 2, 3, 4, 9, 0}, {2, 3}), 0, 9),
                    Catch::Contains("embedding: ids[1,1] = 9 is outside [0, 9) in 'ids' (2,3)"));
  CHECK_THROWS_WITH(read_indices("pool", "lengths", ids_tensor({2, 0}, {2}).to(DType::I32), 1, 3),
                    Catch::Contains("pool: lengths[1] = 0 is outside [1, 3) in 'lengths' (2)"));
  // The first offending element in row-major order is reported.
  CHECK_THROWS_WITH(read_indices("op", "t", ids_tensor({0, -1, 7, 0}, {2, 1, 2}), 0, 5),
                    Catch::Contains("op: t[0,0,1] = -1 is outside [0, 5)"));
}

TEST_CASE("check_index rejects undefined and non-integer tensors", "[op][errors]") {
  CHECK_NOTHROW(check_index("op", "ids", ids_tensor({1}, {1})));
  CHECK_THROWS_WITH(check_index("op", "ids", Tensor()), Catch::Contains("op: argument 'ids' is undefined"));
  CHECK_THROWS_WITH(check_index("op", "ids", Tensor::zeros({2})), Catch::Contains("op: 'ids' must be i32 or i64"));
  CHECK_THROWS_WITH(read_indices("op", "ids", Tensor::zeros({2}, DType::F64), 0, 1),
                    Catch::Contains("op: 'ids' must be i32 or i64"));
}
