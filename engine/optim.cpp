// Optimizers, clipping, schedules and EMA: kernels over raw pointers first, then the classes (see optim.h).
#include "engine/optim.h"

#include "engine/parallel.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace docbert {

// ---------------------------------------------------------------------------------------------------
// kernels

// Scalars of one Adam step for one parameter (optim.h has the update). bc1 = 1 - b1^t and
// bc2_sqrt = sqrt(1 - b2^t), both 1 without bias correction (dividing by 1 is exact, so BertAdam's rounding
// is reproduced). l2 and decoupled are the two places weight decay can enter; at most one is non-zero.
struct AdamScalars {
  double lr, beta1, beta2, eps, bc1, bc2_sqrt, l2, decoupled;
};

// p (N) in/out, g (N) in, m (N) and v (N) in/out.
template <class T>
static void adam_step(T* p, const T* g, T* m, T* v, int64_t N, const AdamScalars& s) {
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

// s (N) in/out: s = decay s + (1 - decay) p, p (N).
template <class T>
static void ema_update(T* s, const T* p, int64_t N, double decay) {
  const T d = T(decay), one_minus_d = T(1 - decay);
  parallel_for(N, [&](int64_t i) { s[i] = d * s[i] + one_minus_d * p[i]; });
}

// Sum of squares of a CPU f32/f64 tensor in double. Fixed chunks of kChunk elements are summed serially (in
// parallel across chunks), then the partial sums are added in chunk order: the result depends on the tensor
// alone, never on the thread count.
static double sum_squares(const Tensor& x, const char* op) {
  constexpr int64_t kChunk = 65536;
  return dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* d = x.data<T>();
    const int64_t N = x.numel(), chunks = (N + kChunk - 1) / kChunk;
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
  });
}

static void scale_in_place(Tensor x, double c, const char* op) {
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* d = x.data<T>();
    const T ct = T(c);
    parallel_for(x.numel(), [&](int64_t i) { d[i] *= ct; });
  });
}

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
  // Queues *dst <- entry `name` (converted to dst's dtype); `what` says what dst is, for the error message.
  // dst must stay valid until commit().
  void tensor(const std::string& name, Tensor* dst, const std::string& what) {
    const Tensor& src = take(name);
    DOCBERT_CHECK(src.shape() == dst->shape(), "{} load_state: '{}' is {} but {} is {}", op_, name,
                  shape_str(src.shape()), what, shape_str(dst->shape()));
    if (src.dtype() != dst->dtype()) check_cpu(op_, src);  // converted on the CPU in commit()
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
    // Same dtype: copy into the live tensor. Otherwise the converted copy replaces it (one copy, not two), so
    // tensors returned by an earlier state() no longer alias the state.
    for (auto& [dst, src] : copies_) {
      if (src.dtype() == dst->dtype())
        dst->copy_from(src);
      else
        *dst = src.to(dst->dtype());
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
    check_float(op, p.name.c_str(), t);
    check_cpu(op, t);
    slots_.push_back({p, Tensor::zeros(t.shape(), t.dtype(), t.device()),
                      Tensor::zeros(t.shape(), t.dtype(), t.device()), !decays || decays(p.name)});
  }
}

void AdamBase::step(double lr) {
  DOCBERT_CHECK(registry_->size() == slots_.size(),
                "{}: the registry has {} parameters but the optimizer was built for {}; build it after the model", op_,
                registry_->size(), slots_.size());
  // Check every gradient before touching anything, so a bad one leaves parameters and state unchanged.
  for (const Slot& s : slots_) {
    const Tensor& p = s.param.tensor;
    const Tensor& g = p.grad();
    if (!g.defined() || (g.shape() == p.shape() && g.dtype() == p.dtype() && g.is_cpu())) continue;
    const std::string what = "grad of " + s.param.name;  // only on the way to an error
    check_same_shape(op_, what.c_str(), g, s.param.name.c_str(), p);
    check_same_dtype(op_, what.c_str(), g, s.param.name.c_str(), p);
    check_cpu(op_, g);
  }
  ++step_;
  const double t = static_cast<double>(step_);
  AdamScalars sc{};
  sc.lr = lr;
  sc.beta1 = rule_.beta1;
  sc.beta2 = rule_.beta2;
  sc.eps = rule_.eps;
  sc.bc1 = rule_.bias_correction ? 1 - std::pow(rule_.beta1, t) : 1;
  sc.bc2_sqrt = rule_.bias_correction ? std::sqrt(1 - std::pow(rule_.beta2, t)) : 1;
  for (Slot& s : slots_) {
    Tensor p = s.param.tensor;
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    const double wd = s.decay ? rule_.weight_decay : 0;
    sc.l2 = rule_.decay == Decay::L2 ? wd : 0;
    sc.decoupled = rule_.decay == Decay::Decoupled ? wd : 0;
    dispatch_float(p.dtype(), op_, [&](auto tag) {
      using T = decltype(tag);
      adam_step(p.data<T>(), g.data<T>(), s.exp_avg.data<T>(), s.exp_avg_sq.data<T>(), p.numel(), sc);
    });
  }
}

std::vector<NamedTensor> AdamBase::state() const {
  std::vector<NamedTensor> out;
  for (const Slot& s : slots_) {
    out.push_back({s.param.name + ".exp_avg", s.exp_avg});
    out.push_back({s.param.name + ".exp_avg_sq", s.exp_avg_sq});
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

// PyTorch's rule: scale by max_norm / (norm + 1e-6) when that is below 1.
static void clip_to(Tensor g, double norm, double max_norm, const char* op) {
  const double c = max_norm / (norm + 1e-6);
  if (c < 1) scale_in_place(g, c, op);
}

double grad_norm(const ParameterRegistry& params) {
  const char* op = "grad_norm";
  double sq = 0;
  for (const NamedTensor& p : params.all()) {
    const Tensor& g = p.tensor.grad();
    if (!g.defined()) continue;
    check_cpu(op, g);
    sq += sum_squares(g, op);
  }
  return std::sqrt(sq);
}

double clip_grad_norm(ParameterRegistry& params, double max_norm) {
  const char* op = "clip_grad_norm";
  DOCBERT_CHECK(max_norm > 0, "{}: max_norm must be positive, got {}", op, max_norm);
  const double norm = grad_norm(params);
  if (!std::isfinite(norm)) return norm;
  for (const NamedTensor& p : params.all())
    if (p.tensor.grad().defined()) clip_to(p.tensor.grad(), norm, max_norm, op);
  return norm;
}

void clip_grad_norm_per_tensor(ParameterRegistry& params, double max_norm) {
  const char* op = "clip_grad_norm_per_tensor";
  DOCBERT_CHECK(max_norm > 0, "{}: max_norm must be positive, got {}", op, max_norm);
  for (const NamedTensor& p : params.all()) {
    const Tensor& g = p.tensor.grad();
    if (!g.defined()) continue;
    check_cpu(op, g);
    const double norm = std::sqrt(sum_squares(g, op));
    if (std::isfinite(norm)) clip_to(g, norm, max_norm, op);
  }
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
    check_float("Ema", p.name.c_str(), p.tensor);
    check_cpu("Ema", p.tensor);
    shadow_.push_back(p.tensor.clone());
  }
}

void Ema::update(double decay) {
  DOCBERT_CHECK(decay >= 0 && decay <= 1, "Ema update: decay must be in [0, 1], got {}", decay);
  DOCBERT_CHECK(!swapped_in(), "Ema update: the averaged weights are swapped in; call swap_out() first");
  for (size_t k = 0; k < params_.size(); ++k) {
    const Tensor& p = params_[k].tensor;
    dispatch_float(p.dtype(), "Ema", [&](auto tag) {
      using T = decltype(tag);
      ema_update(shadow_[k].data<T>(), p.data<T>(), p.numel(), decay);
    });
  }
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
    for (const NamedTensor& p : params_) backup.push_back(Tensor::empty(p.tensor.shape(), p.tensor.dtype()));
    backup_ = std::move(backup);
  }
  for (size_t k = 0; k < backup_.size(); ++k) {
    Tensor p = params_[k].tensor;
    backup_[k].copy_from(p);
    p.copy_from(shadow_[k]);
    if (hedwig_bias_correction) {
      // hedwig divides (avg_p / (1 - beta^t)); dividing rather than multiplying by the inverse keeps its rounding.
      dispatch_float(p.dtype(), "Ema", [&](auto tag) {
        using T = decltype(tag);
        T* d = p.data<T>();
        const T den = T(denom);
        parallel_for(p.numel(), [&](int64_t i) { d[i] /= den; });
      });
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
  for (size_t k = 0; k < params_.size(); ++k) out.push_back({params_[k].name + ".ema", shadow_[k]});
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
