// Op table: embedding lookup (engine/ops/embedding.h).
#include "engine/ops/embedding.h"
#include "engine/parallel.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

using namespace docbert;
using namespace docbert::test;

namespace {

// n ids in [0, V) with heavy repetition (id k * 7 mod min(V, 5)), as i32 or i64.
Tensor repeated_ids(int64_t n, int64_t V, bool i32, Shape shape) {
  std::vector<int64_t> v;
  for (int64_t k = 0; k < n; ++k) v.push_back(k * 7 % std::min<int64_t>(V, 5));
  Tensor t = ids_tensor(v, shape);
  return i32 ? t.to(DType::I32) : t;
}

}  // namespace

TEST_CASE("op embedding", "[op]") {
  const int64_t C = GENERATE(1, 3, 33, 127, 768);
  const int64_t V = GENERATE(1, 7, 513);
  const bool i32 = GENERATE(false, true);
  OpCase c;
  c.name = fmt::format("embedding ids (3,11) {} table ({},{})", i32 ? "i32" : "i64", V, C);
  // 33 tokens over at most 5 distinct ids: every used row of the table fans in several gradients.
  c.inputs = {fixed(repeated_ids(33, V, i32, {3, 11})), uniform({V, C})};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{embedding(in[0], in[1])}; };
  check_op(c);
}

TEST_CASE("embedding gathers rows and scatter-adds repeated ids", "[op]") {
  Tensor table = Tensor::from_vector<double>({0, 1, 10, 11, 20, 21}, {3, 2});
  table.set_requires_grad(true);
  Tensor ids = ids_tensor({2, 0, 2, 2}, {2, 2});
  Tensor out = embedding(ids, table);
  CHECK(out.shape() == Shape{2, 2, 2});
  CHECK(out.to_vector<double>() == std::vector<double>{20, 21, 0, 1, 20, 21, 20, 21});
  out.backward(Tensor::from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}));
  // Row 2 receives tokens 0, 2 and 3; row 1 nothing.
  CHECK(table.grad().to_vector<double>() == std::vector<double>{3, 4, 0, 0, 1 + 5 + 7, 2 + 6 + 8});
}

TEST_CASE("embedding backward is bit-identical across thread counts", "[op][determinism]") {
  auto run = [](int threads) {
    ScopedThreads scoped(threads);
    const std::vector<InputSpec> specs = {uniform({50, 768}), uniform({4, 512, 768})};
    std::vector<Tensor> in = random_inputs(specs, DType::F32);
    std::vector<int64_t> v;
    for (int64_t k = 0; k < 4 * 512; ++k) v.push_back(k * 31 % 50);  // every row fans in ~41 tokens
    in[0].set_requires_grad(true);
    embedding(ids_tensor(v, {4, 512}), in[0]).backward(in[1]);
    return in[0].grad();
  };
  Tensor one = run(1), three = run(3);
  CHECK(bit_equal(one, three));
}

TEST_CASE("embedding rejects bad ids with the id, its position and V", "[op][errors]") {
  Tensor table = Tensor::zeros({30522, 4});
  CHECK_THROWS_WITH(embedding(ids_tensor({1, 2, 3, 30522, 0, 0}, {2, 3}), table),
                    Catch::Contains("embedding: ids[1,0] = 30522 is outside [0, 30522) in 'ids' (2,3)"));
  CHECK_THROWS_WITH(embedding(ids_tensor({-1}, {1}).to(DType::I32), table),
                    Catch::Contains("embedding: ids[0] = -1 is outside [0, 30522) in 'ids' (1)"));
  CHECK_THROWS_WITH(embedding(Tensor::zeros({2}), table), Catch::Contains("embedding: 'ids' must be i32 or i64"));
  CHECK_THROWS_WITH(embedding(ids_tensor({0}, {1}), Tensor::zeros({4})),
                    Catch::Contains("embedding: 'table' must have 2 dimensions"));
}
