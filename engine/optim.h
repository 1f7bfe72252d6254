// engine/optim.h: optimizers (AdamW, Adam), gradient clipping, learning-rate schedules, weight EMA.
//
// Everything works on a ParameterRegistry (engine/parameters.h): parameters in registration order, gradients in
// tensor.grad(). Parameters are CPU f32/f64 or CUDA f32 tensors; optimizer state has the parameter's dtype and
// device. All element loops write disjoint elements and every reduction adds in a fixed order (fixed chunks, then
// the chunk sums in order), so results never depend on the thread count (CPU) and are the same run to run (CUDA:
// multi-tensor kernels without atomics, kernels/optim.h). On CUDA nothing here waits for the device except the
// functions that return a host double, and state() (a host copy).
//
// The Adam update, with g the gradient, t the step count (1 for the first step) and wd the weight decay:
//   Adam only (L2):  g <- g + wd p
//   m <- b1 m + (1 - b1) g              v <- b2 v + (1 - b2) (g g)     (g g rounded first, as PyTorch's addcmul_)
//   m^ = m / (1 - b1^t)                 v^ = v / (1 - b2^t)         (m^ = m, v^ = v without bias correction)
//   update = m^ / (sqrt(v^) + eps)
//   AdamW only (decoupled):  update <- update + wd p               (p before this step)
//   p <- p - lr update
//
// How the AdamW form relates to the optimizers it replaces (lr and wd as above, a = m^/(sqrt(v^)+eps)):
// - BertAdam (pytorch-pretrained-bert, DocBERT's April-2019 optimizer): update = m/(sqrt(v)+eps) + wd p,
//   p -= lr update, no bias correction. The same operations in the same order with bias_correction = false
//   (results can differ in the last bit where one side fuses a multiply-add).
// - torch.optim.AdamW: p *= (1 - lr wd), then p -= lr a. That is p - lr wd p - lr a, the same value in exact
//   arithmetic (both decay the pre-step p and a does not depend on p); only the rounding order differs, a few
//   ulp per step. tests/engine/golden_adamw.cpp checks both (and Adam) against PyTorch in f64.
// - transformers.AdamW (DocBERT HEAD, correct_bias=False): p -= lr a, then p -= lr wd p on the *updated* p,
//   i.e. ours + lr^2 wd a. The extra term is lr wd (2e-7 at lr 2e-5, wd 0.01) times the step: negligible, and
//   we keep the BertAdam/torch form. (With correct_bias=True it would also scale eps by sqrt(1 - b2^t).)
#pragma once

#include "engine/parameters.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace docbert {

// BERT's weight-decay rule, the default AdamWConfig::decay_filter: true when `name` gets weight decay, false
// for biases and LayerNorm parameters, i.e. names containing "bias" (hedwig tests `"bias" in name`, which
// covers every name ending in ".bias"), "LayerNorm", "layer_norm", ".gamma" or ".beta" (TF-style LayerNorm).
bool no_decay_for_bias_and_layernorm(const std::string& name);

struct AdamWConfig {
  double lr = 1e-3;      // base learning rate; step() uses it, step(lr) overrides it (schedules: base * multiplier)
  double beta1 = 0.9;    // decay of the first moment m
  double beta2 = 0.999;  // decay of the second moment v
  double eps = 1e-6;     // added to sqrt(v^) (BERT's value; PyTorch's default is 1e-8)
  double weight_decay = 0.0;    // decoupled decay coefficient wd, applied to parameters the filter accepts
  bool bias_correction = true;  // false reproduces BertAdam (and transformers.AdamW correct_bias=False)
  // Called once per parameter at construction: true means "apply weight decay". Empty: decay every parameter.
  std::function<bool(const std::string& name)> decay_filter = no_decay_for_bias_and_layernorm;
};

// torch.optim.Adam: L2 weight decay folded into the gradient (so it goes through m and v), bias correction on,
// every parameter decayed. Used by the LSTM student (hedwig's reg_lstm: lr 0.01, weight_decay 0).
struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;          // PyTorch's default
  double weight_decay = 0.0;  // L2 coefficient: g <- g + wd p
};

// The update shared by AdamW and Adam; construct one of those. The state (m, v, a zero per parameter) is
// allocated at construction on the parameter's device, so state() always has the same entries. Every parameter
// must be a CPU f32/f64 or a CUDA f32 tensor (checked at construction).
class AdamBase {
 public:
  // One update of every registered parameter whose grad is defined (others are skipped and keep their state).
  // The step count advances once per call and drives bias correction for all parameters; PyTorch counts per
  // parameter, which is the same whenever each parameter that is ever updated has a gradient at every step.
  // Throws when a grad's shape, dtype or device differs from its parameter's, or when parameters were registered
  // after the optimizer was built.
  void step(double lr);
  int64_t step_count() const { return step_; }

  // The state as named CPU tensors for checkpoints: "<param>.exp_avg" and "<param>.exp_avg_sq" for every
  // parameter in registration order, then "step" (an i64 scalar). CPU state is aliased (no copy): write it out
  // before the next step; CUDA state is copied to the host (a sync). Names are relative: prefix them
  // ("optimizer.") when a file holds other states too.
  std::vector<NamedTensor> state() const;
  // Restores what state() returned onto the state's device (dtype may differ: values are converted, and the
  // converted tensor replaces the live one, so earlier state() handles stop aliasing it). Every entry must be
  // present, have the parameter's shape, and no unknown entry may appear; errors name the entry and both shapes.
  void load_state(const std::vector<NamedTensor>& state);

 protected:
  enum class Decay { Decoupled, L2 };
  struct Rule {
    double beta1, beta2, eps, weight_decay;
    bool bias_correction;
    Decay decay;
  };
  // `op` names the optimizer in errors. `decays(name)` says whether a parameter gets weight decay.
  AdamBase(const char* op, ParameterRegistry& params, Rule rule, const std::function<bool(const std::string&)>& decays);

 private:
  struct Slot {
    NamedTensor param;
    Tensor exp_avg, exp_avg_sq;  // m, v: the parameter's shape, dtype and device
    bool decay;
  };
  const char* op_;
  const ParameterRegistry* registry_;
  Rule rule_;
  std::vector<Slot> slots_;
  int64_t step_ = 0;
};

class AdamW : public AdamBase {
 public:
  explicit AdamW(ParameterRegistry& params, AdamWConfig config = {});
  using AdamBase::step;
  void step() { step(config_.lr); }
  const AdamWConfig& config() const { return config_; }

 private:
  AdamWConfig config_;
};

class Adam : public AdamBase {
 public:
  explicit Adam(ParameterRegistry& params, AdamConfig config = {});
  using AdamBase::step;
  void step() { step(config_.lr); }
  const AdamConfig& config() const { return config_; }

 private:
  AdamConfig config_;
};

// ---- gradient clipping (PyTorch's clip_grad_norm_ semantics) ----
//
// Both scale gradients in place by c = max_norm / (norm + 1e-6) when c < 1 (so a norm within 1e-6 of max_norm
// is already scaled slightly, as in PyTorch). Norms are accumulated in double: per tensor, fixed chunks (CPU:
// 65536 elements in parallel; CUDA: kernels/optim.h), their sums added in order; tensors in registration order.
// The result does not depend on the thread count. Parameters without a grad are ignored; the gradients must all
// be on one device. max_norm must be positive. The clip factor is computed where the gradients are (on CUDA the
// kernel reads the norm from device memory), so clipping never waits for the device.

// The global L2 norm over all gradients, without changing them, as a () f64 tensor on the gradients' device: what a
// trainer keeps and reads (item(), a sync on CUDA) when it logs.
[[nodiscard]] Tensor grad_norm_tensor(const ParameterRegistry& params);
// The same read on the host (what trainers log as the grad norm).
[[nodiscard]] double grad_norm(const ParameterRegistry& params);
// Clips by the global L2 norm over all gradients; returns the norm before clipping. A non-finite norm (inf/NaN
// gradient) is returned without touching the gradients: callers should skip the optimizer step (and zero the
// grads). The _tensor form returns it as grad_norm_tensor does, without waiting for the device.
[[nodiscard]] Tensor clip_grad_norm_tensor(ParameterRegistry& params, double max_norm);
[[nodiscard]] double clip_grad_norm(ParameterRegistry& params, double max_norm);
// The same clipping by a norm grad_norm_tensor already computed from these gradients: for a trainer that checks the
// norm before stepping, so it is not computed twice.
void clip_grad_norm_by(ParameterRegistry& params, const Tensor& norm, double max_norm);
// BertAdam's max_grad_norm: each parameter's gradient is clipped by its own norm. A tensor whose norm is not
// finite is left as is (callers detect that with clip_grad_norm or their loss check).
void clip_grad_norm_per_tensor(ParameterRegistry& params, double max_norm);

// ---- learning-rate schedules: multipliers of the base lr ----
//
// Convention (PyTorch LambdaLR as driven by HF/hedwig: optimizer.step() then scheduler.step()): `step` is the
// number of optimizer steps already taken, so the first update uses multiplier(0) and update k (from 0) uses
// multiplier(k). With warmup the first update therefore has lr 0, exactly as in hedwig.

// HF get_linear_schedule_with_warmup / WarmupLinearSchedule:
//   step < warmup_steps:  step / max(1, warmup_steps)
//   otherwise:            max(0, (total_steps - step) / max(1, total_steps - warmup_steps))
// so 0 at step 0, 1 at step == warmup_steps, 0 at total_steps and beyond. warmup_steps = 0 starts at 1 and
// decays at once. warmup_steps may be fractional: hedwig HEAD passes warmup_proportion * t_total unrounded.
// BertAdam's warmup_linear(step / t_total, proportion) is the same function without the max(1, .) guards.
// Requires 0 <= warmup_steps <= total_steps, total_steps >= 1 and step >= 0.
double linear_warmup_decay(int64_t step, double warmup_steps, int64_t total_steps);
// DocBERT's --warmup-proportion: warmup_steps = proportion * total_steps, not rounded (see above).
double warmup_steps_from_proportion(double proportion, int64_t total_steps);

struct LrSchedule {
  enum class Kind { Constant, LinearWarmupDecay };
  Kind kind = Kind::Constant;
  double warmup_steps = 0;                // LinearWarmupDecay only
  int64_t total_steps = 0;                // LinearWarmupDecay only
  double multiplier(int64_t step) const;  // Constant: 1
};

// ---- exponential moving average of the parameters (hedwig's "temporal averaging", --beta-ema) ----
class Ema {
 public:
  // Averages the parameters registered now (CPU f32/f64 or CUDA f32; the shadow and the swap backup live on each
  // parameter's device). The shadow starts as a copy of their current values (not zeros), as hedwig's deepcopy at
  // model build.
  explicit Ema(ParameterRegistry& params);
  // shadow <- decay shadow + (1 - decay) p for every parameter, with or without a grad (hedwig averages
  // frozen embeddings too). Call after each optimizer step, never while swapped in. decay in [0, 1].
  void update(double decay);
  int64_t num_updates() const { return updates_; }

  // Puts averaged weights into the parameters for evaluation, keeping the training weights aside.
  // hedwig_bias_correction: load shadow / (1 - prod of decays so far) (= 1 - beta^t), hedwig's load_ema_params.
  // Since the shadow did not start at zero this inflates the weights early on (x1.19 after ~180 steps at
  // beta 0.99); pass true only for exact parity. Needs at least one update then.
  void swap_in(bool hedwig_bias_correction = false);
  // Restores the training weights saved by swap_in. Do not step the optimizer in between.
  void swap_out();
  bool swapped_in() const { return swapped_in_; }

  // Checkpoint state: "<param>.ema" per parameter, "step" (i64, number of updates) and "decay_product" (f64).
  // Same aliasing, host-copy and naming rules as AdamBase::state(); load_state checks shapes the same way.
  std::vector<NamedTensor> state() const;
  void load_state(const std::vector<NamedTensor>& state);

 private:
  std::vector<NamedTensor> params_;
  std::vector<Tensor> shadow_;  // one per parameter, its shape, dtype and device
  std::vector<Tensor> backup_;  // training weights while swapped in; allocated on the first swap_in
  bool swapped_in_ = false;
  int64_t updates_ = 0;
  double decay_product_ = 1;
};

}  // namespace docbert
