// Op table: one LSTM layer over a ragged batch (engine/ops/lstm.h).
#include "engine/ops/lstm.h"
#include "tests/op_table.h"
#include "tests/test_support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

using namespace docbert;
using namespace docbert::test;

namespace {

enum class Outputs { All, Out, HN, CN };  // which outputs the loss sees; the others get no gradient

// Inputs: x (B,T,I), w_ih (4H,I), w_hh (4H,H), b_ih, b_hh (4H), lengths. Weights are uniform in
// [-1/sqrt(H), 1/sqrt(H)] like PyTorch's init, so the gates stay away from saturation at every size.
OpCase lstm_case(int64_t T, int64_t I, int64_t H, const std::vector<int64_t>& lens, bool reverse,
                 Outputs which = Outputs::All, bool bias = true) {
  const int64_t B = static_cast<int64_t>(lens.size());
  const double k = 1 / std::sqrt(static_cast<double>(H));
  OpCase c;
  c.name = fmt::format("lstm_layer T={} I={} H={} lens {} {}{} outputs #{}", T, I, H, fmt::join(lens, ","),
                       reverse ? "reverse" : "forward", bias ? "" : " no bias", static_cast<int>(which));
  c.inputs = {uniform({B, T, I}),      uniform({4 * H, I}, -k, k), uniform({4 * H, H}, -k, k),
              uniform({4 * H}, -k, k), uniform({4 * H}, -k, k),    fixed(ids_tensor(lens, {B}))};
  c.forward = [reverse, which, bias](const std::vector<Tensor>& in) {
    LstmOutput r = lstm_layer(in[0], in[5], in[1], in[2], bias ? in[3] : Tensor(), bias ? in[4] : Tensor(), reverse);
    switch (which) {
      case Outputs::Out:
        return std::vector<Tensor>{r.out};
      case Outputs::HN:
        return std::vector<Tensor>{r.h_n};
      case Outputs::CN:
        return std::vector<Tensor>{r.c_n};
      default:
        return std::vector<Tensor>{r.out, r.h_n, r.c_n};
    }
  };
  if (!bias) c.inputs[3].grad = c.inputs[4].grad = false;  // unused inputs: nothing to differentiate
  return c;
}

// Ragged lengths including 1 and T, unsorted so the longest-first schedule has work to do.
std::vector<int64_t> ragged(int64_t T) { return {(T + 1) / 2, T, 1}; }

}  // namespace

TEST_CASE("op lstm_layer", "[op]") {
  // (I, H, T) over I, H in {1, 3, 31, 33} and T in {1, 3, 31}: every value meets every other dimension's
  // extremes without the full product (96 cases, each doing ~500 forwards).
  int64_t I, H, T;
  std::tie(I, H, T) = GENERATE(table<int64_t, int64_t, int64_t>({{1, 1, 1},
                                                                 {3, 33, 1},
                                                                 {31, 3, 1},
                                                                 {1, 3, 3},
                                                                 {3, 1, 3},
                                                                 {33, 31, 3},
                                                                 {31, 33, 3},
                                                                 {33, 1, 31},
                                                                 {1, 33, 31},
                                                                 {31, 31, 31},
                                                                 {3, 3, 31},
                                                                 {33, 33, 31}}));
  const bool reverse = GENERATE(false, true);
  check_op(lstm_case(T, I, H, ragged(T), reverse));
}

TEST_CASE("op lstm_layer with a gradient on some outputs only, and without biases", "[op]") {
  const bool reverse = GENERATE(false, true);
  for (Outputs which : {Outputs::Out, Outputs::HN, Outputs::CN})
    check_op(lstm_case(5, 3, 4, {2, 5, 1, 4}, reverse, which));
  check_op(lstm_case(5, 3, 4, {2, 5, 1, 4}, reverse, Outputs::All, false));
}

TEST_CASE("op lstm_layer with padding after the longest sequence", "[op]") {
  // No sequence reaches T: the last steps have no active row (CUDA runs all T steps and must leave every row
  // alone there). I = 4 takes CUDA's float4 path of the padding mask.
  const bool reverse = GENERATE(false, true);
  check_op(lstm_case(6, 4, 5, {2, 4, 1, 4}, reverse));
}

TEST_CASE("lstm_layer ignores what the padding holds", "[op]") {
  // NaN and inf at t >= lengths[b] change no output and no gradient, bit for bit, and dx is zero there: the CPU
  // never reads the padding, CUDA zeroes it before its GEMMs over all B*T rows. On CUDA too in a GPU run.
  const int64_t T = 5, I = 4, H = 3;
  const std::vector<int64_t> lens{3, 5, 1};
  const int64_t B = static_cast<int64_t>(lens.size());
  const bool reverse = GENERATE(false, true);
  std::vector<Device> devices{Device::CPU};
  if (gpu_run()) devices.push_back(Device::CUDA);
  const std::vector<Tensor> in = make_inputs(lstm_case(T, I, H, lens, reverse), DType::F32);
  const std::vector<Tensor> seeds = random_inputs({uniform({B, T, H}), uniform({B, H}), uniform({B, H})}, DType::F32);
  Tensor dirty = in[0].clone();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = lens[b]; t < T; ++t)
      for (int64_t i = 0; i < I; ++i)
        dirty.data<float>()[(b * T + t) * I + i] =
            i % 2 ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  for (Device dev : devices) {
    INFO(device_name(dev) << (reverse ? " reverse" : " forward"));
    // out, h_n, c_n, then the gradients of x, w_ih, w_hh, b_ih, b_hh, all on the host.
    auto run = [&](const Tensor& x_host) {
      std::vector<Tensor> args{x_host.to(dev), in[1].to(dev), in[2].to(dev), in[3].to(dev), in[4].to(dev)};
      for (Tensor& a : args) a.set_requires_grad(true);
      LstmOutput r = lstm_layer(args[0], in[5], args[1], args[2], args[3], args[4], reverse);
      run_backward({r.out, r.h_n, r.c_n}, {seeds[0].to(dev), seeds[1].to(dev), seeds[2].to(dev)});
      std::vector<Tensor> res{r.out.to(Device::CPU), r.h_n.to(Device::CPU), r.c_n.to(Device::CPU)};
      for (const Tensor& a : args) res.push_back(a.grad().to(Device::CPU));
      return res;
    };
    const std::vector<Tensor> clean = run(in[0]), with_garbage = run(dirty);
    for (size_t k = 0; k < clean.size(); ++k) {
      INFO("result " << k);
      CHECK(max_abs(clean[k]) < 1e30);  // finite
      CHECK(bit_equal(clean[k], with_garbage[k]));
    }
    const float* dx = with_garbage[3].data<float>();
    for (int64_t b = 0; b < B; ++b)
      CHECK(std::all_of(dx + (b * T + lens[b]) * I, dx + (b + 1) * T * I, [](float v) { return v == 0; }));
  }
}

TEST_CASE("op lstm_layer LSTM_reg shape", "[op]") {
  // B=4, T=64, I=300, H=256 (LSTM_reg's layer); 8 sampled elements per input keep it to a few seconds.
  const bool reverse = GENERATE(false, true);
  OpCase c = lstm_case(64, 300, 256, {64, 40, 1, 17}, reverse);
  c.max_checks = 8;
  check_op(c);
}

TEST_CASE("lstm_layer is invariant to padding", "[op]") {
  // A sequence in a padded batch gives the same out, h_n and c_n as alone: padding never enters the state.
  // 1e-12 rather than 0: the GEMMs may block a different number of rows differently.
  const int64_t T = 7, I = 5, H = 6;
  const std::vector<int64_t> lens{4, 7, 1};
  const bool reverse = GENERATE(false, true);
  std::vector<Tensor> in = make_inputs(lstm_case(T, I, H, lens, reverse), DType::F64);
  LstmOutput all = lstm_layer(in[0], in[5], in[1], in[2], in[3], in[4], reverse);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t len = lens[b];
    INFO("sequence " << b << (reverse ? " reverse" : " forward"));
    Tensor x_b = Tensor::empty({1, len, I}, DType::F64);
    std::copy_n(in[0].data<double>() + b * T * I, len * I, x_b.data<double>());
    LstmOutput alone = lstm_layer(x_b, ids_tensor({len}, {1}), in[1], in[2], in[3], in[4], reverse);
    Tensor out_b = Tensor::empty({1, len, H}, DType::F64);
    const double* o = all.out.data<double>() + b * T * H;
    std::copy_n(o, len * H, out_b.data<double>());
    CHECK(max_abs_diff(out_b, alone.out) <= 1e-12);
    CHECK(std::all_of(o + len * H, o + T * H, [](double v) { return v == 0; }));
    CHECK(max_abs_diff(all.h_n.slice_rows(b, b + 1), alone.h_n) <= 1e-12);
    CHECK(max_abs_diff(all.c_n.slice_rows(b, b + 1), alone.c_n) <= 1e-12);
  }
}

TEST_CASE("lstm_layer rejects bad arguments with the op name", "[op][errors]") {
  const int64_t H = 2;
  Tensor x = Tensor::zeros({2, 3, 5}), w_ih = Tensor::zeros({4 * H, 5}), w_hh = Tensor::zeros({4 * H, H});
  Tensor b = Tensor::zeros({4 * H}), lens = ids_tensor({3, 1}, {2});
  CHECK_NOTHROW(lstm_layer(x, lens, w_ih, w_hh, b, b, false));
  CHECK_THROWS_WITH(lstm_layer(x, ids_tensor({3, 0}, {2}), w_ih, w_hh, b, b, false),
                    Catch::Contains("lstm_layer: lengths[1] = 0 is outside [1, 4) in 'lengths' (2)"));
  CHECK_THROWS_WITH(lstm_layer(x, ids_tensor({4, 1}, {2}), w_ih, w_hh, b, b, true),
                    Catch::Contains("lstm_layer: lengths[0] = 4 is outside [1, 4) in 'lengths' (2)"));
  CHECK_THROWS_WITH(lstm_layer(x, ids_tensor({3, 1, 1}, {3}), w_ih, w_hh, b, b, false),
                    Catch::Contains("lstm_layer: 'lengths' must be (B) = (2)"));
  CHECK_THROWS_WITH(lstm_layer(x, Tensor::full({2}, 3), w_ih, w_hh, b, b, false),
                    Catch::Contains("lstm_layer: 'lengths' must be i32 or i64"));
  CHECK_THROWS_WITH(lstm_layer(x, lens, Tensor::zeros({4 * H, 4}), w_hh, b, b, false),
                    Catch::Contains("lstm_layer: 'w_ih' must be (4H, I) = (8,5)") && Catch::Contains("(8,4)"));
  CHECK_THROWS_WITH(lstm_layer(x, lens, w_ih, Tensor::zeros({4 * H, H + 1}), b, b, false),
                    Catch::Contains("lstm_layer: 'w_hh' must be (4H, H)"));
  CHECK_THROWS_WITH(lstm_layer(x, lens, w_ih, w_hh, b, Tensor::zeros({4 * H + 1}), false),
                    Catch::Contains("lstm_layer: 'b_hh' must be (4H) = (8)"));
  CHECK_THROWS_WITH(lstm_layer(x, lens, w_ih.to(DType::F64), w_hh, b, b, false),
                    Catch::Contains("lstm_layer: dtype mismatch"));
}
