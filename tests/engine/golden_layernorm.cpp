// Golden test: layer_norm (engine/ops/layernorm.h) against PyTorch float64 F.layer_norm at BERT's eps 1e-12, on
// x (5,33) and x (2,768) (tests/golden/layernorm.py): the output and the gradients of sum(w * out) for x, gamma
// and beta.
//
// Tolerance 1e-12 absolute. Every compared value is below 4 in magnitude (|out| <= 3.3, |dx| <= 2.6, |dgamma| <= 3.1,
// |dbeta| <= 2.6), so an ulp is <= 8.9e-16. Both sides compute the same closed forms in f64 and differ only in
// the order of the row sums (C <= 768 terms; observed differences <= 4e-15), so 1e-12 leaves over two orders of
// margin, while a biased/unbiased variance mix-up (relative 1/(2C) = 6.5e-4 at C = 768) or a missing term of the
// backward fails by many orders of magnitude.
#include "engine/ops/layernorm.h"
#include "engine/safetensors.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <string>

using namespace docbert;
using namespace docbert::test;

TEST_CASE("golden: layer_norm forward and gradients match PyTorch float64", "[golden]") {
  const auto g = load_safetensors(std::string(DOCBERT_SOURCE_DIR) + "/tests/golden/fixtures/layernorm.safetensors");
  constexpr double kTol = 1e-12;
  for (const std::string c : {"small", "bert"}) {
    Tensor x = g.at(c + ".x").clone().set_requires_grad(true);
    Tensor gamma = g.at(c + ".gamma").clone().set_requires_grad(true);
    Tensor beta = g.at(c + ".beta").clone().set_requires_grad(true);
    Tensor out = layer_norm(x, gamma, beta, 1e-12);
    out.backward(g.at(c + ".w"));
    const double d_out = max_abs_diff(out, g.at(c + ".out")), d_x = max_abs_diff(x.grad(), g.at(c + ".dx"));
    const double d_gamma = max_abs_diff(gamma.grad(), g.at(c + ".dgamma"));
    const double d_beta = max_abs_diff(beta.grad(), g.at(c + ".dbeta"));
    INFO(c << " " << shape_str(x.shape()) << ": max abs diff out " << d_out << ", dx " << d_x << ", dgamma " << d_gamma
           << ", dbeta " << d_beta << "; tolerance " << kTol);
    CHECK(d_out <= kTol);
    CHECK(d_x <= kTol);
    CHECK(d_gamma <= kTol);
    CHECK(d_beta <= kTol);
  }
}
