// tests/op_table.h: the op-test table's harness (modelled on ggml's test-backend-ops).
//
// Every differentiable op has TEST_CASEs tagged [op] in tests/ops/<family>.cpp that build an OpCase (its
// inputs and a forward function) and call check_op(), which:
//   1. runs the forward in f64 and checks gradients of L = sum_k <w_k, out_k> (w_k uniform in [-1,1])
//      against central finite differences of L in f64, on every element of small inputs and on a seeded
//      sample of large ones. Error per element: |analytic - numeric| / max(|analytic|, |numeric|, floor);
//      the case fails when the worst exceeds grad_tol (default 1e-7, "well under 1e-6").
//   2. runs the same forward and backward in f32 and compares outputs and input gradients with the f64 ones
//      (f32_tol and f32_grad_tol, relative to each tensor's largest magnitude), so the path training actually
//      uses is checked too.
//   3. in a GPU run (DOCBERT_TEST_GPU=1, tests/test_main.cpp; CTest's "ops: every op on cuda" entry, skipped
//      without a device) instead of 1. and 2.: the f32 inputs on CUDA, forward and backward there, outputs and input
//      gradients compared with the f64 reference under 2 * f32_tol and 2 * f32_grad_tol (a GPU result may sit as
//      far from f64 as the CPU's f32 does, on the other side), every output required to be a CUDA tensor, and a
//      second run required to give the same bits. Dropout draws the same Philox masks on both devices. Then the same
//      under bf16 autocast (engine/autocast.h: linear and attention on bf16 operands): the error against the f64
//      reference at most 2x that of a naive bf16 implementation (the f64 op on bf16-rounded inputs, results rounded
//      to bf16), plus the f32 tolerances as a floor for the ops autocast leaves in f32.
// Every comparison treats a NaN or infinity anywhere as a failure.
// Inputs are uniform in [-1, 1] unless a case says otherwise. Integer inputs (ids, labels, lengths) are
// fixed tensors and never differentiated. The shapes and tolerances live next to each case.
#pragma once

#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/tensor.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace docbert::test {

// How one input of an op case is made.
struct InputSpec {
  enum class Kind { Uniform, Fixed } kind = Kind::Uniform;
  Shape shape;
  double lo = -1, hi = 1;
  double away_from_zero = 0;  // resample |x| < this (non-smooth points of relu-like ops)
  bool distinct = false;      // values pairwise >= (hi-lo)/(4n) apart (argmax-style ops: max-pool)
  bool grad = true;           // differentiate with respect to this input
  Tensor fixed;               // Kind::Fixed: used as is (float fixed tensors are converted to the case dtype)
};

InputSpec uniform(Shape shape, double lo = -1, double hi = 1);
InputSpec uniform_nograd(Shape shape, double lo = -1, double hi = 1);
InputSpec fixed(Tensor t);  // ids, lengths, targets: never differentiated
InputSpec away_from_zero(Shape shape, double margin);
InputSpec distinct(Shape shape);

struct OpCase {
  std::string name;  // shown in failure messages, e.g. "gelu erf (33,7)"
  std::vector<InputSpec> inputs;
  std::function<std::vector<Tensor>(const std::vector<Tensor>&)> forward;
  double grad_tol = 1e-7;      // max relative error of the f64 gradient check
  double fd_eps = 1e-5;        // finite-difference step (central); balances truncation vs roundoff
  double err_floor = 1e-3;     // denominator floor so tiny gradients are compared absolutely
  int max_checks = 48;         // elements checked per input (all of them when numel <= this)
  double f32_tol = 2e-5;       // f32 vs f64 forward, relative to max |out|
  double f32_grad_tol = 1e-4;  // f32 vs f64 input gradients, relative to max |grad| of that input
  double f32_grad_floor = 0;   // lower bound for that max |grad| (for gradients that cancel to exactly 0 in f64)
  uint64_t seed = 1234;
};

// Materialises input specs in `dtype` (float inputs): the same seed gives the same values in f32 and f64.
std::vector<Tensor> random_inputs(const std::vector<InputSpec>& specs, DType dtype, uint64_t seed = 1234);
// A case's inputs with the case's seed.
std::vector<Tensor> make_inputs(const OpCase& c, DType dtype);

// Runs both checks above with Catch2 assertions.
void check_op(const OpCase& c);

// Small helpers for cases and golden tests. All of them propagate NaN/inf as "infinitely far".
Tensor ids_tensor(const std::vector<int64_t>& v, const Shape& shape);
double max_abs(const Tensor& t);                        // +inf when any element is not finite
double max_abs_diff(const Tensor& a, const Tensor& b);  // same shape required; +inf on any non-finite difference
bool bit_equal(const Tensor& a, const Tensor& b);       // same shape, dtype and bytes

enum class Tol { Absolute, Relative };
// CHECKs max |got - want| <= tol (Absolute) or <= tol * max |want| (Relative), reporting both numbers on failure.
// `floor` bounds max |want| from below in the Relative mode.
void check_close(const Tensor& got, const Tensor& want, double tol, Tol kind, const std::string& what,
                 double floor = 0);

// The committed golden fixture tests/golden/fixtures/<name>.safetensors.
std::map<std::string, Tensor> load_fixture(const std::string& name);

// Sets the thread count for its lifetime and restores the previous one (also when a test throws).
class ScopedThreads {
 public:
  explicit ScopedThreads(int n);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int saved_;
};

}  // namespace docbert::test
