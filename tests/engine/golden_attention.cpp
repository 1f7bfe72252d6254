// self_attention against HF BertSelfAttention in PyTorch float64 (tests/golden/attention.py writes the fixture):
// B=2, T=7, C=12, NH=3, the second sequence padded after 4 tokens with mask -10000, dropout off.
//
// Tolerance 1e-12 absolute: both sides compute in f64 with the same formulas on O(1) values and differ only
// in summation order (a few ulp), while a wrong head split, scale, mask axis or softmax gradient moves results
// by 1e-2 or more.
#include "engine/ops/attention.h"
#include "engine/safetensors.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

using namespace docbert;

TEST_CASE("golden: self_attention matches HF BertSelfAttention", "[golden][attention]") {
  const auto fx = test::load_fixture("attention");
  Tensor qkv = fx.at("qkv").clone().set_requires_grad(true);
  const int64_t num_heads = index_at(fx.at("num_heads"), 0);
  Tensor out = self_attention(qkv, fx.at("mask_add"), num_heads);
  test::check_close(out, fx.at("out"), 1e-12, test::Tol::Absolute, "attention out");
  out.backward(fx.at("w"));  // L = sum(w * out)
  test::check_close(qkv.grad(), fx.at("grad_qkv"), 1e-12, test::Tol::Absolute, "attention dqkv");
}
