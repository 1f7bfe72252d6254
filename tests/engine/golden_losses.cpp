// Golden test: the losses of engine/ops/loss.h against PyTorch float64 (tests/golden/losses.py): values and input
// gradients on a (4,90) batch with saturated logits (+-60, +-100).
//
// Tolerance 1e-12, relative to each tensor's largest magnitude: both sides compute in double from the same f64
// inputs, and the roundoff of an exp/log1p and a sum over 90 labels and 4 rows is ~1e-15 relative; the two
// implementations order operations differently, so agreement to ~1e-14 is expected and 1e-12 leaves margin. Any
// real error (a missing T^2, 1/B against 1/(B K), a sign) is many orders bigger. Normwise, because a gradient's
// saturated entries (~e^-100) are roundoff of cancelling terms in both implementations, not comparable digits.
#include "engine/ops/loss.h"
#include "engine/safetensors.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace docbert;
using namespace docbert::test;

namespace {

constexpr double kTol = 1e-12;

}  // namespace

TEST_CASE("golden: losses match PyTorch float64", "[golden]") {
  const auto g = load_fixture("losses");
  // name in the fixture, the fixture inputs it differentiates (golden gradient "<name>.d<key>"), the loss.
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> inputs;  // {gradient key, fixture tensor}
    std::function<Tensor(const std::vector<Tensor>&)> loss;
  };
  const Tensor& targets = g.at("targets");
  const Tensor& hard = g.at("hard");
  std::vector<Case> cases = {
      {"cross_entropy",
       {{"logits", "student"}},
       [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], targets); }},
      {"bce_hard",
       {{"logits", "student"}},
       [&](const std::vector<Tensor>& in) { return bce_with_logits(in[0], hard); }},
      {"bce_soft",
       {{"logits", "student"}, {"targets", "soft"}},
       [](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1]); }},
      {"mse", {{"a", "student"}, {"b", "teacher"}}, [](const std::vector<Tensor>& in) { return mse(in[0], in[1]); }},
  };
  for (int T : {1, 2}) {
    cases.push_back({fmt::format("kl_softmax_t{}", T),
                     {{"student", "student"}, {"teacher", "teacher"}},
                     [T](const std::vector<Tensor>& in) { return kl_div_softmax(in[0], in[1], T); }});
    cases.push_back({fmt::format("kl_bernoulli_t{}", T),
                     {{"student", "student"}, {"teacher", "teacher"}},
                     [T](const std::vector<Tensor>& in) { return kl_div_bernoulli(in[0], in[1], T); }});
  }
  for (const Case& c : cases) {
    std::vector<Tensor> ins;
    for (const auto& in : c.inputs) ins.push_back(g.at(in.second).clone().set_requires_grad(true));
    Tensor loss = c.loss(ins);
    CHECK(loss.shape() == Shape{});
    check_close(loss, g.at(c.name + ".loss"), kTol, Tol::Relative, c.name + ".loss");
    loss.backward();
    for (size_t i = 0; i < ins.size(); ++i)
      check_close(ins[i].grad(), g.at(c.name + ".d" + c.inputs[i].first), kTol, Tol::Relative,
                  c.name + ".d" + c.inputs[i].first);
  }
}
