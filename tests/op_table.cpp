#include "tests/op_table.h"

#include "engine/autocast.h"
#include "engine/ops/dispatch.h"
#include "tests/test_support.h"

#include "engine/parallel.h"
#include "engine/safetensors.h"
#include "kernels/philox.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace docbert::test {

InputSpec uniform(Shape shape, double lo, double hi) {
  InputSpec s;
  s.shape = std::move(shape);
  s.lo = lo;
  s.hi = hi;
  return s;
}
InputSpec uniform_nograd(Shape shape, double lo, double hi) {
  InputSpec s = uniform(std::move(shape), lo, hi);
  s.grad = false;
  return s;
}
InputSpec fixed(Tensor t) {
  InputSpec s;
  s.kind = InputSpec::Kind::Fixed;
  s.shape = t.shape();
  s.fixed = std::move(t);
  s.grad = false;
  return s;
}
InputSpec away_from_zero(Shape shape, double margin) {
  InputSpec s = uniform(std::move(shape));
  s.away_from_zero = margin;
  return s;
}
InputSpec distinct(Shape shape) {
  InputSpec s = uniform(std::move(shape));
  s.distinct = true;
  return s;
}

Tensor ids_tensor(const std::vector<int64_t>& v, const Shape& shape) { return Tensor::from_vector(v, shape); }

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) {
    if (!std::isfinite(v)) return std::numeric_limits<double>::infinity();
    m = std::max(m, std::abs(v));
  }
  return m;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double d = std::abs(va[i] - vb[i]);
    if (!std::isfinite(d)) return std::numeric_limits<double>::infinity();
    m = std::max(m, d);
  }
  return m;
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         (a.nbytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0);
}

void check_close(const Tensor& got, const Tensor& want, double tol, Tol kind, const std::string& what, double floor) {
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  const double diff = max_abs_diff(got, want);
  const double scale = kind == Tol::Relative ? std::max(max_abs(want), floor) : 1.0;
  INFO(what << ": max abs diff " << diff << ", max |reference| " << max_abs(want) << ", tolerance " << tol
            << (kind == Tol::Relative ? " relative" : " absolute"));
  CHECK(diff <= tol * scale);
}

std::map<std::string, Tensor> load_fixture(const std::string& name) {
  return load_safetensors(std::string(DOCBERT_SOURCE_DIR) + "/tests/golden/fixtures/" + name + ".safetensors");
}

ScopedThreads::ScopedThreads(int n) : saved_(num_threads()) { set_num_threads(n); }
ScopedThreads::~ScopedThreads() { set_num_threads(saved_); }

std::vector<Tensor> make_inputs(const OpCase& c, DType dtype) { return random_inputs(c.inputs, dtype, c.seed); }

std::vector<Tensor> random_inputs(const std::vector<InputSpec>& specs, DType dtype, uint64_t seed) {
  std::vector<Tensor> ins;
  RngStream rng{seed, 0};
  for (const InputSpec& s : specs) {
    if (s.kind == InputSpec::Kind::Fixed) {
      ins.push_back(dtype_is_float(s.fixed.dtype()) ? s.fixed.to(dtype) : s.fixed);
      continue;
    }
    // Always draw in f64 and convert, so the f32 and f64 runs see the same values (up to rounding).
    Tensor t = Tensor::empty(s.shape, DType::F64);
    uniform_fill(t, s.lo, s.hi, rng);
    double* p = t.data<double>();
    const int64_t n = t.numel();
    if (s.away_from_zero > 0) {
      for (int64_t i = 0; i < n; ++i)
        if (std::abs(p[i]) < s.away_from_zero) p[i] = p[i] < 0 ? p[i] - s.away_from_zero : p[i] + s.away_from_zero;
    }
    if (s.distinct && n > 0) {
      // A shuffled evenly spaced grid: ties and near-ties are impossible.
      std::vector<int64_t> perm(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) perm[i] = i;
      seeded_shuffle(perm, rng.seed, rng.take(static_cast<uint64_t>(n)));
      for (int64_t i = 0; i < n; ++i) p[i] = s.lo + (s.hi - s.lo) * (static_cast<double>(perm[i]) + 0.5) / n;
    }
    ins.push_back(dtype == DType::F64 ? t : t.to(dtype));
  }
  return ins;
}

namespace {

std::vector<Tensor> forward_no_grad(const OpCase& c, const std::vector<Tensor>& ins) {
  NoGradGuard ng;
  return c.forward(ins);
}

// (L(plus) - L(minus)) with L = sum_k <w_k, out_k>. The difference is taken per element before summing, so
// the many outputs a perturbation does not touch cancel exactly instead of adding roundoff.
double projected_difference(const std::vector<Tensor>& plus, const std::vector<Tensor>& minus,
                            const std::vector<Tensor>& w) {
  double d = 0;
  for (size_t k = 0; k < plus.size(); ++k) {
    const double *pp = plus[k].data<double>(), *pm = minus[k].data<double>(), *pw = w[k].data<double>();
    for (int64_t i = 0; i < plus[k].numel(); ++i) d += (pp[i] - pm[i]) * pw[i];
  }
  return d;
}

}  // namespace

namespace {

// The GPU pass (tests/op_table.h, 3.): the f32 inputs on CUDA, forward and backward there, compared with the f64
// reference under twice the case's f32 tolerances (the GPU may be as far from f64 as the CPU's f32 is, on the
// other side); then the same run again must give the same bits (no atomics, no run-to-run nondeterminism).
struct CudaRun {
  std::vector<Tensor> outs, grads;  // on the host
};

CudaRun run_on_cuda(const OpCase& c, const std::vector<Tensor>& w, DType autocast = DType::F32) {
  AutocastGuard guard(autocast);
  std::vector<Tensor> ins = make_inputs(c, DType::F32);
  for (size_t i = 0; i < ins.size(); ++i) {
    ins[i] = ins[i].to(Device::CUDA);
    if (c.inputs[i].grad) ins[i].set_requires_grad(true);
  }
  std::vector<Tensor> outs = c.forward(ins), seeds;
  CudaRun r;
  for (size_t k = 0; k < outs.size(); ++k) {
    INFO("output " << k << " is " << outs[k].describe());
    REQUIRE(outs[k].device() == Device::CUDA);  // an op that fell back to the CPU would show here
    REQUIRE(outs[k].dtype() == DType::F32);
    r.outs.push_back(outs[k].to(Device::CPU));
    seeds.push_back(w[k].to(DType::F32).to(Device::CUDA));
  }
  run_backward(outs, seeds);
  for (size_t i = 0; i < ins.size(); ++i)
    r.grads.push_back(c.inputs[i].grad ? ins[i].grad().to(Device::CPU) : Tensor());
  return r;
}

void check_op_cuda(const OpCase& c, const std::vector<Tensor>& outs64, const std::vector<Tensor>& ins64,
                   const std::vector<Tensor>& w) {
  const CudaRun a = run_on_cuda(c, w);
  for (size_t k = 0; k < outs64.size(); ++k)
    check_close(a.outs[k], outs64[k], 2 * c.f32_tol, Tol::Relative, "cuda f32 vs f64 output " + std::to_string(k));
  for (size_t i = 0; i < ins64.size(); ++i)
    if (c.inputs[i].grad)
      check_close(a.grads[i], ins64[i].grad(), 2 * c.f32_grad_tol, Tol::Relative,
                  "cuda f32 vs f64 gradient of input " + std::to_string(i), c.f32_grad_floor);
  const CudaRun b = run_on_cuda(c, w);
  for (size_t k = 0; k < a.outs.size(); ++k) {
    INFO("cuda output " << k << " differs between two runs");
    CHECK(bit_equal(a.outs[k], b.outs[k]));
  }
  for (size_t i = 0; i < a.grads.size(); ++i) {
    INFO("cuda gradient of input " << i << " differs between two runs");
    if (a.grads[i].defined()) CHECK(bit_equal(a.grads[i], b.grads[i]));
  }
}

// The bf16 rule (tests/op_table.h, 3.): under bf16 autocast, the error against the f64 reference may be at most twice
// that of a naive bf16 implementation: the f64 op on bf16-rounded inputs, its outputs and gradients rounded to bf16.
// An f32 floor (the case's f32 tolerances) keeps ops that autocast leaves in f32 from needing an exact 0.
void check_op_cuda_bf16(const OpCase& c, const std::vector<Tensor>& outs64, const std::vector<Tensor>& ins64,
                        const std::vector<Tensor>& w) {
  auto round_bf16 = [](const Tensor& t) { return t.to(DType::BF16).to(DType::F64); };
  std::vector<Tensor> ins = make_inputs(c, DType::F64);
  for (size_t i = 0; i < ins.size(); ++i) {
    if (dtype_is_float(ins[i].dtype())) ins[i] = round_bf16(ins[i]);
    if (c.inputs[i].grad) ins[i].set_requires_grad(true);
  }
  std::vector<Tensor> naive = c.forward(ins);
  run_backward(naive, w);
  const CudaRun gpu = run_on_cuda(c, w, DType::BF16);
  for (size_t k = 0; k < outs64.size(); ++k) {
    const double naive_err = max_abs_diff(round_bf16(naive[k]), outs64[k]);
    const double bound = 2 * naive_err + 2 * c.f32_tol * max_abs(outs64[k]);
    check_close(gpu.outs[k].to(DType::F64), outs64[k], bound, Tol::Absolute,
                "cuda bf16 autocast output " + std::to_string(k) + " (2x the naive bf16 error " +
                    std::to_string(naive_err) + ")");
  }
  for (size_t i = 0; i < ins64.size(); ++i) {
    if (!c.inputs[i].grad) continue;
    const Tensor& ref = ins64[i].grad();
    const double naive_err = max_abs_diff(round_bf16(ins[i].grad()), ref);
    const double bound = 2 * naive_err + 2 * c.f32_grad_tol * std::max(max_abs(ref), c.f32_grad_floor);
    check_close(gpu.grads[i].to(DType::F64), ref, bound, Tol::Absolute,
                "cuda bf16 autocast gradient of input " + std::to_string(i) + " (2x the naive bf16 error " +
                    std::to_string(naive_err) + ")");
  }
}

}  // namespace

void check_op(const OpCase& c) {
  INFO("op case: " << c.name);
  if (gpu_run()) {
    // The f64 reference (outputs and gradients for the same w), then the CUDA pass against it.
    std::vector<Tensor> ins = make_inputs(c, DType::F64);
    for (size_t i = 0; i < ins.size(); ++i)
      if (c.inputs[i].grad) ins[i].set_requires_grad(true);
    std::vector<Tensor> outs = c.forward(ins), w;
    RngStream wrng{c.seed + 1, 0};
    for (const Tensor& o : outs) {
      Tensor t = Tensor::empty(o.shape(), DType::F64);
      uniform_fill(t, -1, 1, wrng);
      w.push_back(t);
    }
    run_backward(outs, w);
    check_op_cuda(c, outs, ins, w);
    check_op_cuda_bf16(c, outs, ins, w);
    return;
  }
  // ---- 1. f64 gradient check ----
  std::vector<Tensor> ins = make_inputs(c, DType::F64);
  for (size_t i = 0; i < ins.size(); ++i)
    if (c.inputs[i].grad) ins[i].set_requires_grad(true);
  std::vector<Tensor> outs = c.forward(ins);
  REQUIRE(!outs.empty());
  std::vector<Tensor> w;
  RngStream wrng{c.seed + 1, 0};
  bool any_grad = false;
  for (const Tensor& o : outs) {
    Tensor t = Tensor::empty(o.shape(), DType::F64);
    uniform_fill(t, -1, 1, wrng);
    w.push_back(t);
    any_grad = any_grad || o.requires_grad();
  }
  REQUIRE(any_grad);
  run_backward(outs, w);

  double worst = 0;
  std::string worst_where;
  RngStream pick{c.seed + 2, 0};
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!c.inputs[i].grad) continue;
    Tensor x = ins[i];
    REQUIRE(x.grad().defined());
    const double* g = x.grad().data<double>();
    double* px = x.data<double>();
    const int64_t n = x.numel();
    std::vector<int64_t> idx;
    if (n <= c.max_checks) {
      for (int64_t k = 0; k < n; ++k) idx.push_back(k);
    } else {
      uint64_t off = pick.take(static_cast<uint64_t>(c.max_checks));
      for (int k = 0; k < c.max_checks; ++k)
        idx.push_back(
            static_cast<int64_t>(philox_word(pick.seed, off, static_cast<uint64_t>(k)) % static_cast<uint64_t>(n)));
    }
    for (int64_t k : idx) {
      const double orig = px[k];
      px[k] = orig + c.fd_eps;
      std::vector<Tensor> plus = forward_no_grad(c, ins);
      px[k] = orig - c.fd_eps;
      std::vector<Tensor> minus = forward_no_grad(c, ins);
      px[k] = orig;
      const double numeric = projected_difference(plus, minus, w) / (2 * c.fd_eps);
      const double err = std::abs(g[k] - numeric) / std::max({std::abs(g[k]), std::abs(numeric), c.err_floor});
      if (!(err <= worst)) {  // also catches NaN
        worst = err;
        worst_where = "input " + std::to_string(i) + " element " + std::to_string(k) + ": analytic " +
                      std::to_string(g[k]) + " numeric " + std::to_string(numeric);
      }
    }
  }
  INFO("worst gradient error " << worst << " at " << worst_where << " (tolerance " << c.grad_tol << ")");
  CHECK(worst <= c.grad_tol);
  clear_tape();

  // ---- 2. the f32 forward and backward agree with the f64 ones (same inputs up to rounding, same w) ----
  // With the CUDA backend built, every op this case dispatches must have a CUDA implementation (the coverage check:
  // the GPU pass would fail on it, but that pass only runs on a GPU machine).
  std::vector<std::string> no_cuda;
#ifdef DOCBERT_WITH_CUDA
  set_dispatch_observer([&](const char* op, Device, bool has_cuda) {
    if (!has_cuda && std::find(no_cuda.begin(), no_cuda.end(), op) == no_cuda.end()) no_cuda.push_back(op);
  });
#endif
  struct ObserverReset {
    ~ObserverReset() { set_dispatch_observer(nullptr); }
  } reset_observer;
  std::vector<Tensor> ins32 = make_inputs(c, DType::F32);
  for (size_t i = 0; i < ins32.size(); ++i)
    if (c.inputs[i].grad) ins32[i].set_requires_grad(true);
  std::vector<Tensor> outs32 = c.forward(ins32), w32;
  REQUIRE(outs32.size() == outs.size());
  for (size_t k = 0; k < outs.size(); ++k) {
    REQUIRE(outs32[k].dtype() == DType::F32);
    check_close(outs32[k], outs[k], c.f32_tol, Tol::Relative, "f32 vs f64 output " + std::to_string(k));
    w32.push_back(w[k].to(DType::F32));
  }
  run_backward(outs32, w32);
  for (size_t i = 0; i < ins32.size(); ++i)
    if (c.inputs[i].grad)
      check_close(ins32[i].grad(), ins[i].grad(), c.f32_grad_tol, Tol::Relative,
                  "f32 vs f64 gradient of input " + std::to_string(i), c.f32_grad_floor);
  for (const std::string& op : no_cuda) {
    INFO("op '" << op << "' has no cuda implementation (DOCBERT_NO_CUDA in its OpImpl)");
    CHECK(no_cuda.empty());
  }
}

}  // namespace docbert::test
