// Optimizers, clipping, schedules and EMA: the CPU implementations over kernels/optim.h's multi-tensor params, the
// tensor lists that feed either device, then the classes (see optim.h).
#include "engine/optim.h"

#include "engine/ops/dispatch.h"
#include "engine/parallel.h"
#include "kernels/optim.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace docbert {

// ---------------------------------------------------------------------------------------------------
// CPU implementations: every list entry in order, each one a parallel loop (or fixed chunks for the sums)

namespace cpu {

// Scalars of one Adam step for one parameter (optim.h has the update). bc1 = 1 - b1^t and
// bc2_sqrt = sqrt(1 - b2^t), both 1 without bias correction (dividing by 1 is exact, so BertAdam's rounding
// is reproduced). l2 and decoupled are the two places weight decay can enter; at most one is non-zero.
struct AdamScalars {
  double lr, beta1, beta2, eps, bc1, bc2_sqrt, l2, decoupled;
};

// p (N) in/out, g (N) in, m (N) and v (N) in/out.
template <class T>
static void adam_update(T* p, const T* g, T* m, T* v, int64_t N, const AdamScalars& s) {
  // Coefficients are formed in double and rounded once, as PyTorch does with its Python-float scalars.
  const T lr = T(s.lr), b1 = T(s.beta1), b2 = T(s.beta2), one_minus_b1 = T(1 - s.beta1), one_minus_b2 = T(1 - s.beta2),
          eps = T(s.eps), bc1 = T(s.bc1), bc2_sqrt = T(s.bc2_sqrt), l2 = T(s.l2), wd = T(s.decoupled);
  parallel_for(N, [&](int64_t i) {
    T gi = g[i] + l2 * p[i];
    m[i] = b1 * m[i] + one_minus_b1 * gi;
    v[i] = b2 * v[i] + one_minus_b2 * (gi * gi);  // (1 - b2) g^2 with g^2 rounded first, as PyTorch's addcmul_
    T update = (m[i] / bc1) / (std::sqrt(v[i]) / bc2_sqrt + eps) + wd * p[i];
    p[i] -= lr * update;
  });
}

static void adam_step(const AdamParams& p) {
  dispatch_float(p.dtype, "adam_step", [&](auto tag) {
    using T = decltype(tag);
    for (int k = 0; k < p.n; ++k) {
      const AdamScalars sc{
          p.lr, p.beta1, p.beta2, p.eps, p.bc1, p.bc2_sqrt, p.decay[k] ? p.l2 : 0, p.decay[k] ? p.decoupled : 0};
      adam_update(static_cast<T*>(p.p[k]), static_cast<const T*>(p.g[k]), static_cast<T*>(p.m[k]),
                  static_cast<T*>(p.v[k]), p.numel[k], sc);
    }
  });
}

// Sum of squares of d (N) in double. Fixed chunks of kChunk elements are summed serially (in parallel across
// chunks), then the partial sums are added in chunk order: the result depends on the data alone, never on the
// thread count.
template <class T>
static double sum_squares_of(const T* d, int64_t N) {
  constexpr int64_t kChunk = 65536;
  const int64_t chunks = (N + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks));
  parallel_for(
      chunks,
      [&](int64_t c) {
        double acc = 0;
        for (int64_t i = c * kChunk; i < std::min(N, (c + 1) * kChunk); ++i)
          acc += static_cast<double>(d[i]) * static_cast<double>(d[i]);
        partial[static_cast<size_t>(c)] = acc;
      },
      /*grain=*/2);
  double acc = 0;
  for (double s : partial) acc += s;
  return acc;
}

static void sum_squares(const SumSquaresParams& p) {
  dispatch_float(p.dtype, "sum_squares", [&](auto tag) {
    using T = decltype(tag);
    for (int k = 0; k < p.n; ++k) p.sumsq[k] = sum_squares_of(static_cast<const T*>(p.x[k]), p.numel[k]);
  });
}

static void norms(const NormParams& p) {
  if (p.global) {
    double sq = 0;
    for (int64_t k = 0; k < p.n; ++k) sq += p.sumsq[k];
    p.norm[0] = std::sqrt(sq);
  } else {
    for (int64_t k = 0; k < p.n; ++k) p.norm[k] = std::sqrt(p.sumsq[k]);
  }
}

// PyTorch's rule: scale by max_norm / (norm + 1e-6) when the norm is finite and that is below 1.
static void clip_scale(const ClipParams& p) {
  dispatch_float(p.dtype, "clip_scale", [&](auto tag) {
    using T = decltype(tag);
    for (int k = 0; k < p.n; ++k) {
      const double norm = p.norm[p.per_tensor ? k : 0], c = p.max_norm / (norm + 1e-6);
      if (!std::isfinite(norm) || !(c < 1)) continue;
      T* d = static_cast<T*>(p.x[k]);
      const T ct = T(c);
      parallel_for(p.numel[k], [&](int64_t i) { d[i] *= ct; });
    }
  });
}

// shadow (N) = decay shadow + (1 - decay) param (N)
static void ema_update(const EmaParams& p) {
  dispatch_float(p.dtype, "Ema", [&](auto tag) {
    using T = decltype(tag);
    const T d = T(p.decay), one_minus_d = T(1 - p.decay);
    for (int k = 0; k < p.n; ++k) {
      T* s = static_cast<T*>(p.shadow[k]);
      const T* x = static_cast<const T*>(p.param[k]);
      parallel_for(p.numel[k], [&](int64_t i) { s[i] = d * s[i] + one_minus_d * x[i]; });
    }
  });
}

// param (N) = shadow (N) / divisor: hedwig divides (avg_p / (1 - beta^t)); dividing rather than multiplying by the
// inverse keeps its rounding.
static void ema_load(const EmaParams& p) {
  dispatch_float(p.dtype, "Ema", [&](auto tag) {
    using T = decltype(tag);
    const T den = T(p.divisor);
    for (int k = 0; k < p.n; ++k) {
      const T* s = static_cast<const T*>(p.shadow[k]);
      T* x = static_cast<T*>(p.param[k]);
      parallel_for(p.numel[k], [&](int64_t i) { x[i] = s[i] / den; });
    }
  });
}

}  // namespace cpu

// ---------------------------------------------------------------------------------------------------
// tensor lists

namespace {

constexpr OpImpl<AdamParams> kAdamStep{cpu::adam_step, DOCBERT_CUDA(cuda::adam_step)};
constexpr OpImpl<SumSquaresParams> kSumSquares{cpu::sum_squares, DOCBERT_CUDA(cuda::sum_squares)};
constexpr OpImpl<NormParams> kNorms{cpu::norms, DOCBERT_CUDA(cuda::norms)};
constexpr OpImpl<ClipParams> kClipScale{cpu::clip_scale, DOCBERT_CUDA(cuda::clip_scale)};
constexpr OpImpl<EmaParams> kEmaUpdate{cpu::ema_update, DOCBERT_CUDA(cuda::ema_update)};
constexpr OpImpl<EmaParams> kEmaLoad{cpu::ema_load, DOCBERT_CUDA(cuda::ema_load)};

// Cuts tensors [0, ts.size()) into runs of at most kOptimMaxTensors consecutive ones of one dtype and device, one
// params struct each, and calls run(first, count) for every run in order.
template <class F>
void for_each_list(const std::vector<Tensor>& ts, F&& run) {
  for (size_t first = 0; first < ts.size();) {
    size_t end = first + 1;
    while (end < ts.size() && end - first < static_cast<size_t>(kOptimMaxTensors) &&
           ts[end].dtype() == ts[first].dtype() && ts[end].device() == ts[first].device())
      ++end;
    run(first, static_cast<int>(end - first));
    first = end;
  }
}

// Parameters on CUDA are f32, the dtype the launchers take (the registry already requires f32 or f64).
void check_param(const char* op, const NamedTensor& p) {
  check_float(op, p.name.c_str(), p.tensor);
  DOCBERT_CHECK(p.tensor.is_cpu() || p.tensor.dtype() == DType::F32, "{}: '{}' must be f32 on cuda, got {}", op, p.name,
                p.tensor.describe());
}

// The defined gradients in registration order, and the one device they are on (the first parameter's, or the CPU,
// when there is none).
struct Grads {
  std::vector<Tensor> tensors;
  Device device = Device::CPU;
};

Grads defined_grads(const char* op, const ParameterRegistry& params) {
  Grads gs;
  if (params.size()) gs.device = params.all()[0].tensor.device();
  const NamedTensor* first = nullptr;
  for (const NamedTensor& p : params.all()) {
    const Tensor& g = p.tensor.grad();
    if (!g.defined()) continue;
    if (!first) {
      first = &p;
      gs.device = g.device();
    } else if (g.device() != gs.device) {
      const std::string a = "grad of " + first->name, b = "grad of " + p.name;  // only on the way to an error
      check_same_device(op, a.c_str(), first->tensor.grad(), b.c_str(), g);
    }
    gs.tensors.push_back(g);
  }
  return gs;
}

// The norms of gs: global, a () f64 tensor; otherwise (n) f64, one per gradient. On gs.device, nothing read back.
Tensor grad_norms(const char* op, const Grads& gs, bool global) {
  const auto n = static_cast<int64_t>(gs.tensors.size());
  Tensor sumsq = Tensor::empty({n}, DType::F64, gs.device);
  for_each_list(gs.tensors, [&](size_t first, int count) {
    SumSquaresParams sp;
    sp.dtype = gs.tensors[first].dtype();
    sp.n = count;
    for (int k = 0; k < count; ++k) {
      sp.numel[k] = gs.tensors[first + k].numel();
      sp.x[k] = gs.tensors[first + k].raw_data();
    }
    sp.sumsq = static_cast<double*>(sumsq.raw_data()) + first;
    kSumSquares(op, gs.device, sp);
  });
  Tensor norm = global ? Tensor::empty({}, DType::F64, gs.device) : Tensor::empty({n}, DType::F64, gs.device);
  NormParams np;
  np.n = n;
  np.global = global;
  np.sumsq = static_cast<const double*>(sumsq.raw_data());
  np.norm = static_cast<double*>(norm.raw_data());
  kNorms(op, gs.device, np);
  return norm;
}

// Scales gs by the clip factor of `norm` (global: one () norm; per tensor: (n)), decided on the device.
void clip_grads(const char* op, const Grads& gs, const Tensor& norm, bool per_tensor, double max_norm) {
  for_each_list(gs.tensors, [&](size_t first, int count) {
    ClipParams cp;
    cp.dtype = gs.tensors[first].dtype();
    cp.n = count;
    for (int k = 0; k < count; ++k) {
      cp.numel[k] = gs.tensors[first + k].numel();
      Tensor g = gs.tensors[first + k];  // a handle: the gradient is written through it
      cp.x[k] = g.raw_data();
    }
    cp.norm = static_cast<const double*>(norm.raw_data()) + (per_tensor ? first : 0);
    cp.per_tensor = per_tensor;
    cp.max_norm = max_norm;
    kClipScale(op, gs.device, cp);
  });
}

// A state tensor as a checkpoint takes it: the CPU tensor itself (aliased), or a host copy of a device one.
Tensor on_host(const Tensor& t) { return t.is_cpu() ? t : t.to(Device::CPU); }

}  // namespace

// ---------------------------------------------------------------------------------------------------
// checkpoint state loading, shared by the optimizers and Ema

// Matches checkpoint entries to the live tensors they restore. Everything is checked before anything is
// copied, so a failed load leaves the object as it was.
class StateLoader {
 public:
  StateLoader(const char* op, const std::vector<NamedTensor>& state) : op_(op) {
    for (const NamedTensor& e : state) {
      DOCBERT_CHECK(e.tensor.defined(), "{} load_state: entry '{}' is undefined", op_, e.name);
      DOCBERT_CHECK(entries_.emplace(e.name, e.tensor).second, "{} load_state: entry '{}' appears twice", op_, e.name);
    }
  }
  // Queues *dst <- entry `name` (converted to dst's dtype, moved to dst's device); `what` says what dst is, for the
  // error message. dst must stay valid until commit().
  void tensor(const std::string& name, Tensor* dst, const std::string& what) {
    const Tensor& src = take(name);
    DOCBERT_CHECK(src.shape() == dst->shape(), "{} load_state: '{}' is {} but {} is {}", op_, name,
                  shape_str(src.shape()), what, shape_str(dst->shape()));
    copies_.emplace_back(dst, src);
  }
  double scalar(const std::string& name) {
    const Tensor& src = take(name);
    DOCBERT_CHECK(src.numel() == 1, "{} load_state: '{}' must have one element, got {}", op_, name, src.describe());
    return src.item();
  }
  // Rejects unknown entries (a checkpoint of another model), then copies.
  void commit() {
    for (const auto& e : entries_)
      DOCBERT_CHECK(used_.count(e.first), "{} load_state: unknown entry '{}' ({} entries, {} expected)", op_, e.first,
                    entries_.size(), used_.size());
    // Same dtype: copy into the live tensor (an upload when it is on the device). Otherwise the converted copy
    // replaces it (converted where the entry is, then moved), so tensors returned by an earlier state() no longer
    // alias the state.
    for (auto& [dst, src] : copies_) {
      if (src.dtype() == dst->dtype()) {
        dst->copy_from(src);
      } else {
        Tensor converted = src.to(dst->dtype());
        *dst = converted.device() == dst->device() ? converted : converted.to(dst->device());
      }
    }
  }

 private:
  const Tensor& take(const std::string& name) {
    auto it = entries_.find(name);
    DOCBERT_CHECK(it != entries_.end(), "{} load_state: missing entry '{}' ({} entries given)", op_, name,
                  entries_.size());
    used_.insert(name);
    return it->second;
  }
  const char* op_;
  std::map<std::string, Tensor> entries_;
  std::set<std::string> used_;
  std::vector<std::pair<Tensor*, Tensor>> copies_;  // (destination, source)
};

static int64_t step_from_state(const char* op, double v) {
  // Finite, integral and at most 2^53 (every such double is exact and fits int64), checked before the cast.
  DOCBERT_CHECK(std::isfinite(v) && v >= 0 && v <= 9007199254740992.0 && v == std::floor(v),
                "{} load_state: 'step' must be a non-negative integer <= 2^53, got {}", op, v);
  return static_cast<int64_t>(v);
}

// ---------------------------------------------------------------------------------------------------
// Adam / AdamW

bool no_decay_for_bias_and_layernorm(const std::string& name) {
  for (const char* key : {"bias", "LayerNorm", "layer_norm", ".gamma", ".beta"})
    if (name.find(key) != std::string::npos) return false;
  return true;
}

AdamBase::AdamBase(const char* op, ParameterRegistry& params, Rule rule,
                   const std::function<bool(const std::string&)>& decays)
    : op_(op), registry_(&params), rule_(rule) {
  DOCBERT_CHECK(rule.beta1 >= 0 && rule.beta1 < 1, "{}: beta1 must be in [0, 1), got {}", op, rule.beta1);
  DOCBERT_CHECK(rule.beta2 >= 0 && rule.beta2 < 1, "{}: beta2 must be in [0, 1), got {}", op, rule.beta2);
  DOCBERT_CHECK(rule.eps >= 0, "{}: eps must be >= 0, got {}", op, rule.eps);
  DOCBERT_CHECK(rule.weight_decay >= 0, "{}: weight_decay must be >= 0, got {}", op, rule.weight_decay);
  for (const NamedTensor& p : params.all()) {
    const Tensor& t = p.tensor;
    check_param(op, p);
    slots_.push_back({p, Tensor::zeros(t.shape(), t.dtype(), t.device()),
                      Tensor::zeros(t.shape(), t.dtype(), t.device()), !decays || decays(p.name)});
  }
}

void AdamBase::step(double lr) {
  DOCBERT_CHECK(registry_->size() == slots_.size(),
                "{}: the registry has {} parameters but the optimizer was built for {}; build it after the model", op_,
                registry_->size(), slots_.size());
  // Check every gradient before touching anything, so a bad one leaves parameters and state unchanged.
  std::vector<Slot*> active;   // the slots with a gradient, in registration order
  std::vector<Tensor> params;  // their parameters, which decide the lists
  for (Slot& s : slots_) {
    const Tensor& p = s.param.tensor;
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (g.shape() != p.shape() || g.dtype() != p.dtype() || g.device() != p.device()) {
      const std::string what = "grad of " + s.param.name;  // only on the way to an error
      check_same_shape(op_, what.c_str(), g, s.param.name.c_str(), p);
      check_same_dtype(op_, what.c_str(), g, s.param.name.c_str(), p);
      check_same_device(op_, what.c_str(), g, s.param.name.c_str(), p);
    }
    active.push_back(&s);
    params.push_back(p);
  }
  ++step_;
  const double t = static_cast<double>(step_);
  AdamParams ap;
  ap.lr = lr;
  ap.beta1 = rule_.beta1;
  ap.beta2 = rule_.beta2;
  ap.eps = rule_.eps;
  ap.bc1 = rule_.bias_correction ? 1 - std::pow(rule_.beta1, t) : 1;
  ap.bc2_sqrt = rule_.bias_correction ? std::sqrt(1 - std::pow(rule_.beta2, t)) : 1;
  ap.l2 = rule_.decay == Decay::L2 ? rule_.weight_decay : 0;
  ap.decoupled = rule_.decay == Decay::Decoupled ? rule_.weight_decay : 0;
  for_each_list(params, [&](size_t first, int count) {
    ap.dtype = params[first].dtype();
    ap.n = count;
    for (int k = 0; k < count; ++k) {
      Slot& s = *active[first + k];
      Tensor& p = params[first + k];
      ap.numel[k] = p.numel();
      ap.p[k] = p.raw_data();
      ap.g[k] = p.grad().raw_data();
      ap.m[k] = s.exp_avg.raw_data();
      ap.v[k] = s.exp_avg_sq.raw_data();
      ap.decay[k] = s.decay;
    }
    kAdamStep(op_, params[first].device(), ap);
  });
}

std::vector<NamedTensor> AdamBase::state() const {
  std::vector<NamedTensor> out;
  for (const Slot& s : slots_) {
    out.push_back({s.param.name + ".exp_avg", on_host(s.exp_avg)});
    out.push_back({s.param.name + ".exp_avg_sq", on_host(s.exp_avg_sq)});
  }
  out.push_back({"step", Tensor::scalar(static_cast<double>(step_), DType::I64)});
  return out;
}

void AdamBase::load_state(const std::vector<NamedTensor>& state) {
  StateLoader loader(op_, state);
  for (Slot& s : slots_) {
    std::string what = "parameter '" + s.param.name + "'";
    loader.tensor(s.param.name + ".exp_avg", &s.exp_avg, what);
    loader.tensor(s.param.name + ".exp_avg_sq", &s.exp_avg_sq, what);
  }
  const int64_t restored_step = step_from_state(op_, loader.scalar("step"));
  loader.commit();
  step_ = restored_step;
}

AdamW::AdamW(ParameterRegistry& params, AdamWConfig config)
    : AdamBase("AdamW", params,
               {config.beta1, config.beta2, config.eps, config.weight_decay, config.bias_correction, Decay::Decoupled},
               config.decay_filter),
      config_(std::move(config)) {}

Adam::Adam(ParameterRegistry& params, AdamConfig config)
    : AdamBase("Adam", params, {config.beta1, config.beta2, config.eps, config.weight_decay, true, Decay::L2}, nullptr),
      config_(config) {}

// ---------------------------------------------------------------------------------------------------
// clipping

Tensor grad_norm_tensor(const ParameterRegistry& params) {
  const char* op = "grad_norm";
  return grad_norms(op, defined_grads(op, params), /*global=*/true);
}

double grad_norm(const ParameterRegistry& params) { return grad_norm_tensor(params).item(); }

Tensor clip_grad_norm_tensor(ParameterRegistry& params, double max_norm) {
  const char* op = "clip_grad_norm";
  DOCBERT_CHECK(max_norm > 0, "{}: max_norm must be positive, got {}", op, max_norm);
  const Grads gs = defined_grads(op, params);
  Tensor norm = grad_norms(op, gs, /*global=*/true);
  clip_grads(op, gs, norm, /*per_tensor=*/false, max_norm);  // skips everything when the norm is not finite
  return norm;
}

void clip_grad_norm_by(ParameterRegistry& params, const Tensor& norm, double max_norm) {
  const char* op = "clip_grad_norm";
  DOCBERT_CHECK(max_norm > 0, "{}: max_norm must be positive, got {}", op, max_norm);
  clip_grads(op, defined_grads(op, params), norm, /*per_tensor=*/false, max_norm);  // no-op when not finite
}

double clip_grad_norm(ParameterRegistry& params, double max_norm) {
  return clip_grad_norm_tensor(params, max_norm).item();
}

void clip_grad_norm_per_tensor(ParameterRegistry& params, double max_norm) {
  const char* op = "clip_grad_norm_per_tensor";
  DOCBERT_CHECK(max_norm > 0, "{}: max_norm must be positive, got {}", op, max_norm);
  const Grads gs = defined_grads(op, params);
  clip_grads(op, gs, grad_norms(op, gs, /*global=*/false), /*per_tensor=*/true, max_norm);
}

// ---------------------------------------------------------------------------------------------------
// schedules

double linear_warmup_decay(int64_t step, double warmup_steps, int64_t total_steps) {
  DOCBERT_CHECK(total_steps >= 1, "linear_warmup_decay: total_steps must be >= 1, got {}", total_steps);
  DOCBERT_CHECK(warmup_steps >= 0 && warmup_steps <= static_cast<double>(total_steps),
                "linear_warmup_decay: warmup_steps must be in [0, total_steps = {}], got {}", total_steps,
                warmup_steps);
  DOCBERT_CHECK(step >= 0, "linear_warmup_decay: step must be >= 0, got {}", step);
  const double s = static_cast<double>(step), total = static_cast<double>(total_steps);
  if (s < warmup_steps) return s / std::max(1.0, warmup_steps);
  return std::max(0.0, (total - s) / std::max(1.0, total - warmup_steps));
}

double warmup_steps_from_proportion(double proportion, int64_t total_steps) {
  DOCBERT_CHECK(proportion >= 0 && proportion <= 1,
                "warmup_steps_from_proportion: proportion must be in [0, 1], got {}", proportion);
  return proportion * static_cast<double>(total_steps);
}

double LrSchedule::multiplier(int64_t step) const {
  if (kind == Kind::Constant) return 1;
  return linear_warmup_decay(step, warmup_steps, total_steps);
}

// ---------------------------------------------------------------------------------------------------
// Ema

Ema::Ema(ParameterRegistry& params) : params_(params.all()) {
  for (const NamedTensor& p : params_) {
    check_param("Ema", p);
    shadow_.push_back(p.tensor.clone());
  }
}

// Calls run(params) with every list of (shadow, parameter) pairs, in order.
template <class F>
static void for_each_ema_list(const std::vector<NamedTensor>& params, std::vector<Tensor>& shadow, F&& run) {
  std::vector<Tensor> ts;
  for (const NamedTensor& p : params) ts.push_back(p.tensor);
  for_each_list(ts, [&](size_t first, int count) {
    EmaParams ep;
    ep.dtype = ts[first].dtype();
    ep.n = count;
    for (int k = 0; k < count; ++k) {
      ep.numel[k] = ts[first + k].numel();
      ep.shadow[k] = shadow[first + k].raw_data();
      ep.param[k] = ts[first + k].raw_data();
    }
    run(ep, ts[first].device());
  });
}

void Ema::update(double decay) {
  DOCBERT_CHECK(decay >= 0 && decay <= 1, "Ema update: decay must be in [0, 1], got {}", decay);
  DOCBERT_CHECK(!swapped_in(), "Ema update: the averaged weights are swapped in; call swap_out() first");
  for_each_ema_list(params_, shadow_, [&](EmaParams& ep, Device device) {
    ep.decay = decay;
    kEmaUpdate("Ema", device, ep);
  });
  decay_product_ *= decay;
  ++updates_;
}

void Ema::swap_in(bool hedwig_bias_correction) {
  DOCBERT_CHECK(!swapped_in(), "Ema swap_in: already swapped in");
  const double denom = 1 - decay_product_;
  DOCBERT_CHECK(!hedwig_bias_correction || denom > 0,
                "Ema swap_in: the bias-corrected average needs an update with decay < 1 first ({} updates)", updates_);
  if (backup_.empty()) {  // allocated on the first swap, reused afterwards; all or nothing if allocation throws
    std::vector<Tensor> backup;
    for (const NamedTensor& p : params_)
      backup.push_back(Tensor::empty(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()));
    backup_ = std::move(backup);
  }
  for (size_t k = 0; k < backup_.size(); ++k) backup_[k].copy_from(params_[k].tensor);
  if (hedwig_bias_correction) {
    for_each_ema_list(params_, shadow_, [&](EmaParams& ep, Device device) {
      ep.divisor = denom;
      kEmaLoad("Ema", device, ep);
    });
  } else {
    for (size_t k = 0; k < backup_.size(); ++k) {
      Tensor p = params_[k].tensor;
      p.copy_from(shadow_[k]);
    }
  }
  swapped_in_ = true;
}

void Ema::swap_out() {
  DOCBERT_CHECK(swapped_in(), "Ema swap_out: not swapped in");
  for (size_t k = 0; k < backup_.size(); ++k) params_[k].tensor.copy_from(backup_[k]);
  swapped_in_ = false;
}

std::vector<NamedTensor> Ema::state() const {
  std::vector<NamedTensor> out;
  for (size_t k = 0; k < params_.size(); ++k) out.push_back({params_[k].name + ".ema", on_host(shadow_[k])});
  out.push_back({"step", Tensor::scalar(static_cast<double>(updates_), DType::I64)});
  out.push_back({"decay_product", Tensor::scalar(decay_product_, DType::F64)});
  return out;
}

void Ema::load_state(const std::vector<NamedTensor>& state) {
  DOCBERT_CHECK(!swapped_in(), "Ema load_state: the averaged weights are swapped in; call swap_out() first");
  StateLoader loader("Ema", state);
  for (size_t k = 0; k < params_.size(); ++k)
    loader.tensor(params_[k].name + ".ema", &shadow_[k], "parameter '" + params_[k].name + "'");
  int64_t updates = step_from_state("Ema", loader.scalar("step"));
  double product = loader.scalar("decay_product");
  DOCBERT_CHECK(product >= 0 && product <= 1, "Ema load_state: 'decay_product' must be in [0, 1], got {}", product);
  loader.commit();
  updates_ = updates;
  decay_product_ = product;
}

}  // namespace docbert
