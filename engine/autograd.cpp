#include "engine/autograd.h"

#ifdef DOCBERT_WITH_CUDA
#include "kernels/tensor_ops.h"
#endif

#include "engine/parallel.h"

namespace docbert {

namespace {
thread_local bool g_grad_enabled = true;
thread_local std::vector<Node> g_tape;
}  // namespace

bool grad_enabled() { return g_grad_enabled; }

bool grad_needed(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

bool grad_needed(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record_node(const char* op, std::vector<Tensor> inputs, std::vector<Tensor> outputs,
                 std::function<void(Node&)> backward) {
  for (Tensor& o : outputs) {
    o.impl()->is_leaf = false;
    o.impl()->requires_grad = true;
  }
  g_tape.push_back(Node{op, std::move(inputs), std::move(outputs), std::move(backward)});
}

void clear_tape() { g_tape.clear(); }
size_t tape_size() { return g_tape.size(); }

void run_backward(const Tensor& root, const Tensor& seed) {
  DOCBERT_CHECK(root.defined(), "backward: the tensor is undefined");
  if (seed.defined()) return run_backward(std::vector<Tensor>{root}, std::vector<Tensor>{seed});
  DOCBERT_CHECK(root.numel() == 1, "backward: {} is not a scalar; pass the seed gradient", root.describe());
  run_backward(std::vector<Tensor>{root},
               std::vector<Tensor>{Tensor::full(root.shape(), 1.0, root.dtype(), root.device())});
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds) {
  DOCBERT_CHECK(roots.size() == seeds.size(), "backward: {} roots but {} seeds", roots.size(), seeds.size());
  for (size_t k = 0; k < roots.size(); ++k) {
    Tensor r = roots[k];
    DOCBERT_CHECK(r.defined() && seeds[k].defined(), "backward: root or seed {} is undefined", k);
    DOCBERT_CHECK(r.requires_grad(), "backward: {} does not require grad (no recorded op leads to it)", r.describe());
    check_same_shape("backward", "seed", seeds[k], "root", r);
    check_same_dtype("backward", "seed", seeds[k], "root", r);
    add_into(r.grad_buffer(), seeds[k]);
  }
  // Move the tape out first: a backward function must never see (or extend) the tape it is walking, and an
  // exception half way still leaves the tape released.
  std::vector<Node> tape;
  tape.swap(g_tape);
  NoGradGuard no_grad;
  for (auto it = tape.rbegin(); it != tape.rend(); ++it) {
    bool any = false;
    for (const Tensor& o : it->outputs) any = any || o.grad().defined();
    if (any) it->backward(*it);
  }
}

void Tensor::backward(const Tensor& seed) const { run_backward(*this, seed); }

void add_into(Tensor dst, const Tensor& src) {
  check_same_shape("add_into", "dst", dst, "src", src);
  check_same_dtype("add_into", "dst", dst, "src", src);
  check_same_device("add_into", "dst", dst, "src", src);
  if (!dst.is_cpu()) {
#ifdef DOCBERT_WITH_CUDA
    cuda::accumulate(dst.raw_data(), src.raw_data(), dst.dtype(), dst.numel());
#endif
    return;
  }
  if (dst.dtype() == DType::BF16) {  // a bf16 tensor's gradient (mixed precision): add in f32, round once
    bf16* d = dst.data<bf16>();
    const bf16* s = src.data<bf16>();
    parallel_for(dst.numel(), [&](int64_t i) { d[i] = bf16::from_float(d[i].to_float() + s[i].to_float()); });
    return;
  }
  dispatch_float(dst.dtype(), "add_into", [&](auto tag) {
    using T = decltype(tag);
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    parallel_for(dst.numel(), [&](int64_t i) { d[i] += s[i]; });
  });
}

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

}  // namespace docbert
