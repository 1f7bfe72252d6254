// engine/ops/dispatch.h: the one dispatch point between an op's CPU and CUDA implementations.
//
// Every op family has one params struct (kernels/<family>.h: pointers + sizes + dtype, flash-attention style)
// and two implementations that take it: docbert::cpu::<op>_forward/_backward in engine/ops/<family>.cpp and the
// launchers docbert::cuda::<op>_forward/_backward in kernels/<family>.cu. An op wrapper
//   1. checks its arguments once (check_float_operands returns the operands' device and dtype),
//   2. allocates its outputs on that device,
//   3. fills the params struct and calls an OpImpl, which picks the implementation for the device,
//   4. records a backward closure that captures the same device and calls the backward OpImpl.
// An op without a CUDA implementation is built with DOCBERT_NO_CUDA and fails on a CUDA tensor with
// "<op>: no cuda implementation", never by running on the CPU.
#pragma once

#include "engine/tensor.h"

#include <functional>

namespace docbert {

// The CUDA launcher `fn` when the build has the CUDA backend, otherwise null (the name is still declared, by
// the plain-C++ kernels/<family>.h, but never defined or referenced).
#ifdef DOCBERT_WITH_CUDA
#define DOCBERT_CUDA(fn) (&(fn))
#else
#define DOCBERT_CUDA(fn) nullptr
#endif
#define DOCBERT_NO_CUDA nullptr

// Reports every dispatch to an observer (tests: the op table's coverage check). Null by default.
using DispatchObserver = std::function<void(const char* op, Device device, bool has_cuda)>;
void set_dispatch_observer(DispatchObserver observer);
void notify_dispatch(const char* op, Device device, bool has_cuda);

// One implementation per device of one op (forward or backward) over params struct P; called with the op's
// user-facing name ("gelu"), which errors and the observer report.
template <class P>
struct OpImpl {
  void (*cpu)(const P&);
  void (*cuda)(const P&);

  void operator()(const char* op, Device device, const P& p) const {
    notify_dispatch(op, device, cuda != nullptr);
    if (device == Device::CPU) return cpu(p);
    DOCBERT_CHECK(cuda != nullptr, "{}: no cuda implementation", op);
    cuda(p);
  }
};

// Where and in which dtype an op computes: its float operands' common device and dtype.
struct OpTarget {
  Device device = Device::CPU;
  DType dtype = DType::F32;
};

// One float operand of an op for check_float_operands; an optional one (a bias) is skipped when undefined.
struct FloatOperand {
  const char* name;
  const Tensor& t;
  bool optional = false;
};
// The float operands of an op: each defined and floating point, all of the first one's dtype and device.
// Which float dtypes a device computes in is the implementation's check (CPU: f32, f64; CUDA: f32, bf16).
OpTarget check_float_operands(const char* op, std::initializer_list<FloatOperand> operands);

// An index argument (ids, labels, lengths: i32/i64) of an op computing on `device`, checked on the host with
// read_indices (every value in [lo, hi), the error naming the position) and returned as an i64 tensor on `device`.
// Index tensors are built on the host, so the check costs no device sync; the upload goes through pinned staging
// and does not wait. (A device-resident index tensor is copied back for the check: a sync, outside the hot path.)
Tensor checked_indices(const char* op, const char* arg, const Tensor& t, int64_t lo, int64_t hi, Device device);

}  // namespace docbert
