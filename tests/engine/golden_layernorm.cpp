// Golden test: layer_norm (engine/ops/layernorm.h) against PyTorch float64 F.layer_norm at BERT's eps 1e-12, on
// x (5,33) and x (2,768), and at eps 1e-5 on rows whose variance is of the order of eps, x (4,64), where a
// misplaced eps would show (tests/golden/layernorm.py): the output and the gradients of sum(w * out) for x,
// gamma and beta. The "eps" case's dx reaches ~1/sqrt(var) in magnitude, so it is compared relative to its
// largest value.
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
  const auto g = load_fixture("layernorm");
  constexpr double kTol = 1e-12;
  for (const std::string c : {"small", "bert", "eps"}) {
    Tensor x = g.at(c + ".x").clone().set_requires_grad(true);
    Tensor gamma = g.at(c + ".gamma").clone().set_requires_grad(true);
    Tensor beta = g.at(c + ".beta").clone().set_requires_grad(true);
    Tensor out = layer_norm(x, gamma, beta, g.at(c + ".eps").item());
    out.backward(g.at(c + ".w"));
    const std::string what = c + " " + shape_str(x.shape());
    check_close(out, g.at(c + ".out"), kTol, Tol::Absolute, what + " out");
    check_close(x.grad(), g.at(c + ".dx"), kTol, c == "eps" ? Tol::Relative : Tol::Absolute, what + " dx");
    check_close(gamma.grad(), g.at(c + ".dgamma"), kTol, Tol::Absolute, what + " dgamma");
    check_close(beta.grad(), g.at(c + ".dbeta"), kTol, Tol::Absolute, what + " dbeta");
  }
}
