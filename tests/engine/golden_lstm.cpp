// lstm_layer against a bidirectional torch.nn.LSTM over a packed ragged batch in float64
// (tests/golden/lstm.py writes the fixture): B=3, T=6, I=5, H=4, lengths [3, 6, 1], garbage in the padding.
//
// Our forward and reverse layers run on PyTorch's parameters; their outputs are concatenated here, forward
// first, as PyTorch lays out (B, T, 2H). Tolerance 1e-10 absolute: both sides compute in f64 with the same
// formulas and differ only in rounding order (we add b_ih + b_hh before the GEMMs, PyTorch after; GEMM
// blocking differs), a few ulp per step that the 6-step recurrence can amplify slightly but nowhere near
// 1e-10, while a wrong gate order, direction, length handling or missing gradient term is off by 1e-3 or more.
#include "engine/ops/lstm.h"
#include "engine/safetensors.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace docbert;

namespace {

// Columns [begin, begin + n) of the last dimension of a (R, W) view of t, as a new (R, n) tensor.
Tensor columns(const Tensor& t, int64_t begin, int64_t n) {
  const int64_t W = t.size(-1), R = t.numel() / W;
  Tensor r = Tensor::empty({R, n}, t.dtype());
  for (int64_t i = 0; i < R; ++i) std::copy_n(t.data<double>() + i * W + begin, n, r.data<double>() + i * n);
  return r;
}

}  // namespace

TEST_CASE("golden: bidirectional lstm_layer matches torch.nn.LSTM on a packed batch", "[golden][lstm]") {
  auto fx = test::load_fixture("lstm");
  const int64_t B = fx.at("x").size(0), T = fx.at("x").size(1), H = fx.at("weight_hh_l0").size(1);
  std::map<std::string, Tensor> p;
  for (const char* name : {"x", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
                           "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"})
    p[name] = fx.at(name).clone().set_requires_grad(true);
  const Tensor& lengths = fx.at("lengths");
  LstmOutput fwd =
      lstm_layer(p["x"], lengths, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"], false);
  LstmOutput rev = lstm_layer(p["x"], lengths, p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"],
                              p["bias_ih_l0_reverse"], p["bias_hh_l0_reverse"], true);

  Tensor output = Tensor::empty({B, T, 2 * H}, DType::F64);
  for (int64_t i = 0; i < B * T; ++i) {
    std::copy_n(fwd.out.data<double>() + i * H, H, output.data<double>() + i * 2 * H);
    std::copy_n(rev.out.data<double>() + i * H, H, output.data<double>() + i * 2 * H + H);
  }
  test::check_close(output, fx.at("output"), 1e-10, test::Tol::Absolute, "output");
  // h_n and c_n are (2, B, H) in PyTorch: direction 0 forward, 1 reverse.
  test::check_close(fwd.h_n, fx.at("h_n").slice_rows(0, 1).reshape({B, H}), 1e-10, test::Tol::Absolute, "fwd.h_n");
  test::check_close(rev.h_n, fx.at("h_n").slice_rows(1, 2).reshape({B, H}), 1e-10, test::Tol::Absolute, "rev.h_n");
  test::check_close(fwd.c_n, fx.at("c_n").slice_rows(0, 1).reshape({B, H}), 1e-10, test::Tol::Absolute, "fwd.c_n");
  test::check_close(rev.c_n, fx.at("c_n").slice_rows(1, 2).reshape({B, H}), 1e-10, test::Tol::Absolute, "rev.c_n");

  // L = sum(w * output) + sum(w2 * h_n) + sum(w3 * c_n), split over the six outputs of the two layers.
  const Tensor &w = fx.at("w"), &w2 = fx.at("w2"), &w3 = fx.at("w3");
  run_backward(
      {fwd.out, rev.out, fwd.h_n, rev.h_n, fwd.c_n, rev.c_n},
      {columns(w, 0, H).reshape({B, T, H}), columns(w, H, H).reshape({B, T, H}), w2.slice_rows(0, 1).reshape({B, H}),
       w2.slice_rows(1, 2).reshape({B, H}), w3.slice_rows(0, 1).reshape({B, H}), w3.slice_rows(1, 2).reshape({B, H})});
  for (const auto& [name, t] : p) {
    test::check_close(t.grad(), fx.at("grad." + name), 1e-10, test::Tol::Absolute, "grad." + name);
  }
}
