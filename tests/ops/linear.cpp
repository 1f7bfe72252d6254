// Op table: linear and batched matmul (engine/ops/linear.h).
#include "engine/ops/linear.h"
#include "engine/parallel.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

using namespace docbert;
using namespace docbert::test;

namespace {

// Naive reference: c (M,N) = op(a) op(b) for one batch element, f64, straight from the definition.
std::vector<double> naive_matmul(const double* a, const double* b, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  std::vector<double> c(static_cast<size_t>(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        c[m * N + n] += (ta ? a[k * M + m] : a[m * K + k]) * (tb ? b[n * K + k] : b[k * N + n]);
  return c;
}

// The ops are linear in each input separately, so central differences have no truncation error at any step; a
// large step shrinks the roundoff, which otherwise reaches 1e-7 of small weight gradients summed over 1000 rows.
constexpr double kStep = 1e-2;

}  // namespace

TEST_CASE("op linear", "[op]") {
  const int64_t n = GENERATE(1, 3, 31, 33, 127, 513);
  const auto io = GENERATE(std::pair<int64_t, int64_t>{1, 1}, std::pair<int64_t, int64_t>{3, 127},
                           std::pair<int64_t, int64_t>{33, 31}, std::pair<int64_t, int64_t>{127, 3});
  const int64_t IN = io.first, OUT = io.second;
  const bool with_bias = GENERATE(true, false);
  OpCase c;
  c.name = fmt::format("linear x (2,{},{}) -> OUT {} bias {}", n, IN, OUT, with_bias);
  c.inputs = {uniform({2, n, IN}), uniform({OUT, IN})};
  if (with_bias) c.inputs.push_back(uniform({OUT}));
  c.forward = [](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor())};
  };
  c.fd_eps = kStep;
  check_op(c);
}

TEST_CASE("op linear BERT sizes", "[op]") {
  // (IN, OUT): attention projections of the three BERT sizes, the fused QKV, and the FFN up/down of BERT-base.
  const auto io = GENERATE(std::pair<int64_t, int64_t>{384, 384}, std::pair<int64_t, int64_t>{768, 768},
                           std::pair<int64_t, int64_t>{1024, 1024}, std::pair<int64_t, int64_t>{768, 2304},
                           std::pair<int64_t, int64_t>{768, 3072}, std::pair<int64_t, int64_t>{3072, 768});
  OpCase c;
  c.name = fmt::format("linear x (2,3,{}) -> {}", io.first, io.second);
  c.inputs = {uniform({2, 3, io.first}), uniform({io.second, io.first}), uniform({io.second})};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{linear(in[0], in[1], in[2])}; };
  c.fd_eps = kStep;
  check_op(c);
}

TEST_CASE("op linear on a single vector", "[op]") {
  OpCase c;
  c.name = "linear x (33) -> 7";
  c.inputs = {uniform({33}), uniform({7, 33}), uniform({7})};
  c.forward = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{linear(in[0], in[1], in[2])}; };
  c.fd_eps = kStep;
  check_op(c);
}

TEST_CASE("op matmul", "[op]") {
  const bool ta = GENERATE(false, true), tb = GENERATE(false, true);
  const int64_t M = GENERATE(1, 3, 33), K = GENERATE(1, 31), N = GENERATE(1, 3, 127);
  auto mat = [](Shape batch, int64_t rows, int64_t cols, bool t) {
    batch.push_back(t ? cols : rows);
    batch.push_back(t ? rows : cols);
    return batch;
  };
  // Batched with equal leading dims, 2-D x 2-D, and a 2-D b shared by the batch (folded when !ta).
  for (int layout = 0; layout < 3; ++layout) {
    const Shape a_batch = layout == 1 ? Shape{} : Shape{2, 3};
    const Shape b_batch = layout == 0 ? Shape{2, 3} : Shape{};
    OpCase c;
    c.name = fmt::format("matmul {} x {}", shape_str(mat(a_batch, M, K, ta)), shape_str(mat(b_batch, K, N, tb)));
    c.inputs = {uniform(mat(a_batch, M, K, ta)), uniform(mat(b_batch, K, N, tb))};
    c.forward = [ta, tb](const std::vector<Tensor>& in) { return std::vector<Tensor>{matmul(in[0], in[1], ta, tb)}; };
    c.fd_eps = kStep;
    check_op(c);
  }
}

TEST_CASE("op matmul attention sizes", "[op]") {
  // Scores q k^T and context p v of B=2, NH=3, T=128, HS=64: the batched path at a real head size.
  for (bool scores : {true, false}) {
    OpCase c;
    c.name = scores ? "matmul q k^T (2,3,128,64)" : "matmul p v (2,3,128,128) x (2,3,128,64)";
    c.inputs = {uniform({2, 3, 128, scores ? 64 : 128}), uniform({2, 3, 128, 64})};
    c.forward = [scores](const std::vector<Tensor>& in) {
      return std::vector<Tensor>{matmul(in[0], in[1], false, scores)};
    };
    c.fd_eps = kStep;
    check_op(c);
  }
}

TEST_CASE("linear and matmul forward match a naive triple loop", "[op]") {
  const std::vector<InputSpec> specs = {uniform({3, 5, 7}), uniform({4, 7}), uniform({4})};
  std::vector<Tensor> in = random_inputs(specs, DType::F64);
  const double *x = in[0].data<double>(), *w = in[1].data<double>(), *bias = in[2].data<double>();
  std::vector<double> ref = naive_matmul(x, w, 15, 4, 7, false, true);
  for (int64_t r = 0; r < 15; ++r)
    for (int64_t o = 0; o < 4; ++o) ref[r * 4 + o] += bias[o];
  CHECK(max_abs_diff(linear(in[0], in[1], in[2]), Tensor::from_vector(ref, {3, 5, 4})) < 1e-14);

  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t M = 5, K = 7, N = 3;
      std::vector<Tensor> ab =
          random_inputs({uniform({2, ta ? K : M, ta ? M : K}), uniform({2, tb ? N : K, tb ? K : N})}, DType::F64);
      Tensor out = matmul(ab[0], ab[1], ta, tb);
      REQUIRE(out.shape() == Shape{2, M, N});
      for (int64_t i = 0; i < 2; ++i) {
        std::vector<double> r =
            naive_matmul(ab[0].data<double>() + i * M * K, ab[1].data<double>() + i * K * N, M, N, K, ta, tb);
        INFO("ta " << ta << " tb " << tb << " batch " << i);
        CHECK(max_abs_diff(out.slice_rows(i, i + 1), Tensor::from_vector(r, {1, M, N})) < 1e-14);
      }
    }
}

TEST_CASE("linear and matmul are bit-identical for any thread count >= 2", "[op][determinism]") {
  // linear.h: a single GEMM rounds the same on 2, 3 or 4 threads (not on 1, Eigen's blocking differs); batched
  // matmul runs single-threaded GEMMs per batch element, so even 1 thread gives the same bits.
  auto run = [](int threads) {
    ScopedThreads scoped(threads);
    const std::vector<InputSpec> specs = {uniform({4, 128, 768}), uniform({3072, 768}), uniform({3072}),
                                          uniform({6, 64, 96}), uniform({6, 64, 96})};
    std::vector<Tensor> in = random_inputs(specs, DType::F32);
    for (Tensor& t : in) t.set_requires_grad(true);
    Tensor y = linear(in[0], in[1], in[2]), s = matmul(in[3], in[4], false, true);
    run_backward({y, s}, {Tensor::full(y.shape(), 0.5), Tensor::full(s.shape(), -0.25)});
    std::vector<Tensor> r = {y, s};
    for (Tensor& t : in) r.push_back(t.grad());
    return r;
  };
  std::vector<Tensor> two = run(2), three = run(3), four = run(4), one = run(1);
  for (size_t k = 0; k < two.size(); ++k) {
    INFO("result " << k << " (0 linear out, 1 matmul out, then the input gradients)");
    CHECK(bit_equal(two[k], three[k]));
    CHECK(bit_equal(two[k], four[k]));
  }
  CHECK(bit_equal(two[1], one[1]));  // batched matmul forward
  CHECK(bit_equal(two[5], one[5]));  // and its gradients
  CHECK(bit_equal(two[6], one[6]));
  CHECK(bit_equal(two[4], one[4]));  // the bias gradient is our own column sum
}

TEST_CASE("linear and matmul reject bad arguments with the op name", "[op][errors]") {
  Tensor x = Tensor::zeros({2, 5, 7}), w = Tensor::zeros({4, 7});
  CHECK_THROWS_WITH(linear(x, Tensor::zeros({4, 6})), Catch::Contains("linear: shape mismatch") &&
                                                          Catch::Contains("(2,5,7)") && Catch::Contains("(4,6)"));
  CHECK_THROWS_WITH(linear(x, w, Tensor::zeros({5})), Catch::Contains("linear: shape mismatch: 'bias' (5)"));
  CHECK_THROWS_WITH(linear(x, Tensor::zeros({4, 7}, DType::F64)), Catch::Contains("linear: dtype mismatch"));
  CHECK_THROWS_WITH(linear(x, Tensor::zeros({28})), Catch::Contains("linear: 'weight' must have 2 dimensions"));
  CHECK_THROWS_WITH(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5})),
                    Catch::Contains("matmul: shape mismatch: batch dims") && Catch::Contains("(3,4,5)"));
  CHECK_THROWS_WITH(
      matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 5, 6})),
      Catch::Contains("matmul: shape mismatch: inner dims differ") && Catch::Contains("K=4") && Catch::Contains("K=5"));
  CHECK_THROWS_WITH(matmul(Tensor::zeros({3, 4}), Tensor::zeros({5, 4}), true, false), Catch::Contains("(transposed)"));
  CHECK_THROWS_WITH(matmul(Tensor::zeros({4}), Tensor::zeros({4, 2})), Catch::Contains("at least 2 dims"));
}
