// engine/autograd.h: the define-by-run tape.
//
// Each differentiable op, when gradients are needed (grad mode on and some input requires_grad), records
// one Node: its inputs, its outputs, and a backward function that reads the outputs' gradients and
// *accumulates* (+=) into the inputs' gradients through Tensor::grad_buffer(). Nodes are appended to a
// thread-local tape in execution order, so the tape is already a topological order.
//
// Tensor::backward(seed) sets the root's gradient, walks the tape in reverse, calls each node whose
// outputs received a gradient, then clears the whole tape (the graph is released after backward, and
// the intermediate tensors with it unless the caller still holds them). Leaves keep their .grad() and
// keep accumulating over calls until zero_grad().
//
// The tape holds strong references to outputs and inputs; tensors hold no reference to nodes, so there
// are no cycles. Forward passes that will not be differentiated (evaluation, teacher logits) run inside
// a NoGradGuard so nothing is recorded.
#pragma once

#include "engine/tensor.h"

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace docbert {

struct Node {
  const char* op = "";          // op name, for error messages and tape dumps
  std::vector<Tensor> inputs;   // the op's differentiable inputs, in a fixed order per op; may include tensors
                                // that do not require grad and undefined optional ones (e.g. a missing bias)
  std::vector<Tensor> outputs;  // the op's outputs; outputs[k].grad() is dL/d(output k) when backward runs
  std::function<void(Node&)> backward;
};

// True when grad mode is on and at least one of `inputs` requires a gradient.
bool grad_needed(std::initializer_list<const Tensor*> inputs);
bool grad_needed(const std::vector<Tensor>& inputs);
bool grad_enabled();

// Appends a node to the tape and marks every output as a non-leaf that requires grad.
// `backward` may assume at least one output has a gradient; it must check each input's requires_grad().
void record_node(const char* op, std::vector<Tensor> inputs, std::vector<Tensor> outputs,
                 std::function<void(Node&)> backward);

// The raw pointer of t's gradient buffer (allocated as zeros on first use, on t's device), or null when t is
// undefined or does not require grad: what a backward closure puts into its params struct for each input, the
// implementation skipping null ones.
inline void* grad_ptr_or_null(Tensor& t) {
  return t.defined() && t.requires_grad() ? t.grad_buffer().raw_data() : nullptr;
}
// An optional argument's data (a bias, a mask), or null when it is undefined.
inline const void* ptr_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// Runs the tape backwards from `root` (see Tensor::backward) and clears it.
void run_backward(const Tensor& root, const Tensor& seed);
// Same, from several roots at once: seeds[k] is dL/d(roots[k]) (same shapes). Used when a loss is a sum
// over several outputs, e.g. the gradient checks of multi-output ops.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds);

// Drops every recorded node without running it (e.g. after a forward pass whose loss is not needed).
void clear_tape();
size_t tape_size();

// dst += src elementwise (same shape, dtype and device; f32, f64 or bf16, the last added in f32 and rounded once). The
// helper every backward uses to pass a gradient through unchanged.
void add_into(Tensor dst, const Tensor& src);

// Disables recording for its lifetime (nests; restores the previous mode).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace docbert
