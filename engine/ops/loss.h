// engine/ops/loss.h: training losses. Each is one fused, numerically stable op returning a scalar (shape ()).
//
// These formulas define the training objectives: the teacher's task loss (cross_entropy for single-label,
// bce_with_logits for multi-label) and the student's `task loss + lambda * distillation loss`, where the
// distillation term is kl_div_softmax (single-label), kl_div_bernoulli (multi-label) or mse on logits. What is
// written below is exactly what is computed: no label smoothing, no class weights, no ignore_index.
//
// Dimension letters: B batch rows, K classes (single-label) or labels (multi-label).
// Notation: softmax and sigmoid act on a row's logits; softplus(x) = log(1 + e^x);
// log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x).
//
// Common rules:
// - Float inputs share one dtype and device (CPU: f32/f64; CUDA: f32/bf16); the loss has that dtype and device and
//   shape (). Nothing waits for the device: the forward reduces on it, the backward reads dL there (kernels/loss.h).
// - Normalisation differs between the ops on purpose (PyTorch's conventions), see each op: the task losses are
//   means per prediction, the KL distillation losses are sums over classes/labels and a mean over the batch
//   (PyTorch's reduction='batchmean'). So lambda weighs a kl_div_bernoulli term against a BCE term that is
//   K times smaller per element.
// - Numerically stable for any finite logits: log-sum-exp after subtracting the row maximum, log-sigmoid through
//   softplus(x) = max(x, 0) + log1p(exp(-|x|)); nothing overflows and nothing takes log(0) (tested at +-100).
// - Arithmetic on the CPU is in double whatever the storage type (a loss reads B*K values, nothing next to the layer
//   that produced them), on CUDA in f32. Per-row sums run in parallel and rows are added in a fixed order, so the
//   result depends neither on the thread count nor on the run. Gradients are stored in the input's dtype.
// - Backward accumulates dL * (dloss / dinput) into every input that requires grad, dL being the loss's
//   gradient. Integer targets are never differentiated.
// - An empty input (B = 0 or K = 0) is an error rather than a NaN.
#pragma once

#include "engine/tensor.h"

namespace docbert {

// Softmax cross-entropy with integer class targets (PyTorch F.cross_entropy, reduction='mean'):
//   loss = (1/B) sum_b [ logsumexp_k z[b,k] - z[b, y_b] ] = -(1/B) sum_b log softmax(z[b])[y_b]
//   dloss/dz[b,k] = (softmax(z[b])[k] - [k == y_b]) / B
// logits z: (B,K).  targets y: (B) i32/i64, each in [0, K), checked on the host (an error names the row and the
// value), so targets built on the host cost no device sync (checked_indices, engine/ops/dispatch.h).
// K = 1 is allowed: the loss and its gradient are exactly 0.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

// Sigmoid binary cross-entropy on logits, mean over all B*K elements (PyTorch BCEWithLogitsLoss, 'mean'):
//   loss = (1/(B K)) sum_{b,k} [ max(z,0) - z y + log1p(exp(-|z|)) ]   (= -y log s - (1-y) log(1-s), s = sigmoid z)
//   dloss/dz = (sigmoid(z) - y) / (B K),   dloss/dy = -z / (B K)
// logits z: (B,K).  targets y: (B,K), same dtype, each in [0, 1]: hard 0/1 labels or soft teacher probabilities.
// The CPU checks them (an error names the element); CUDA does not, as that would wait for the device: there a
// target outside [0, 1] makes the loss NaN. Targets get a gradient when they require grad, so the op is
// differentiable in both.
Tensor bce_with_logits(const Tensor& logits, const Tensor& targets);

// Softmax KL distillation (Hinton et al. 2015), KL(teacher || student) at temperature T:
//   p = softmax(t[b] / T) (teacher), q = softmax(s[b] / T) (student)
//   loss = T^2 * (1/B) sum_b sum_k p_k (log p_k - log q_k)
//        = T^2 * F.kl_div(F.log_softmax(s/T), F.softmax(t/T), reduction='batchmean')
//   dloss/ds[b,k] = T (q_k - p_k) / B,   dloss/dt[b,k] = T p_k (log p_k - log q_k - KL_b) / B
// where KL_b is row b's inner sum. The T^2 factor keeps the gradient magnitudes comparable across temperatures:
// the student gradient without it is (q - p) / (T B), and q - p itself shrinks like 1/T for large T, so the raw
// term fades like 1/T^2; with it, changing T does not silently re-weight distillation against the task loss.
// student_logits s, teacher_logits t: (B,K), same dtype.  temperature T > 0. Both inputs get gradients when
// they require grad (the teacher's logits usually do not: they come from a cache or a NoGradGuard pass).
Tensor kl_div_softmax(const Tensor& student_logits, const Tensor& teacher_logits, double temperature = 1);

// Multi-label distillation: per-label Bernoulli KL(teacher || student) at temperature T:
//   p = sigmoid(t / T) (teacher), q = sigmoid(s / T) (student), elementwise
//   loss = T^2 * (1/B) sum_b sum_k [ p log(p/q) + (1-p) log((1-p)/(1-q)) ]
//   dloss/ds = T (q - p) / B,   dloss/dt = p (1-p) (t - s) / B
// Summed over labels, averaged over the batch (as kl_div_softmax; T^2 for the same reason). Computed with
// log-sigmoids (p log(p/q) = p (softplus(-s/T) - softplus(-t/T)), 1 - p as sigmoid(-t/T)), so saturated labels
// (|logit| up to 100 and beyond) give exact, finite terms instead of 0 * log 0.
// student_logits s, teacher_logits t: (B,K), same dtype.  temperature T > 0. Gradients wrt both.
Tensor kl_div_bernoulli(const Tensor& student_logits, const Tensor& teacher_logits, double temperature = 1);

// Mean squared error over all N elements (PyTorch F.mse_loss, reduction='mean'):
//   loss = (1/N) sum_i (a_i - b_i)^2,   dloss/da = 2 (a - b) / N = -dloss/db
// a, b: any shape (the same), same dtype, N >= 1. Gradients wrt both.
Tensor mse(const Tensor& a, const Tensor& b);

}  // namespace docbert
