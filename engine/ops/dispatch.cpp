// The dispatch point's shared pieces (engine/ops/dispatch.h): operand checks, index arguments, the observer.
#include "engine/ops/dispatch.h"

namespace docbert {

namespace {
DispatchObserver& observer() {
  static DispatchObserver o;
  return o;
}
}  // namespace

void set_dispatch_observer(DispatchObserver o) { observer() = std::move(o); }

void notify_dispatch(const char* op, Device device, bool has_cuda) {
  if (observer()) observer()(op, device, has_cuda);
}

OpTarget check_float_operands(const char* op, std::initializer_list<FloatOperand> operands) {
  const FloatOperand* first = nullptr;
  for (const FloatOperand& x : operands) {
    if (x.optional && !x.t.defined()) continue;
    DOCBERT_CHECK(x.t.defined(), "{}: argument '{}' is undefined", op, x.name);
    DOCBERT_CHECK(dtype_is_float(x.t.dtype()), "{}: '{}' must be a float tensor, got {}", op, x.name, x.t.describe());
    if (!first) {
      first = &x;
      continue;
    }
    check_same_dtype(op, first->name, first->t, x.name, x.t);
    check_same_device(op, first->name, first->t, x.name, x.t);
  }
  DOCBERT_CHECK(first, "{}: no float operand", op);
  return OpTarget{first->t.device(), first->t.dtype()};
}

Tensor checked_indices(const char* op, const char* arg, const Tensor& t, int64_t lo, int64_t hi, Device device) {
  const std::vector<int64_t> v = read_indices(op, arg, t, lo, hi);
  Tensor host = Tensor::from_vector(v, t.shape());
  return device == Device::CPU ? host : host.to(device);
}

}  // namespace docbert
