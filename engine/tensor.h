// engine/tensor.h: the Tensor type.
//
// A Tensor is a cheap, copyable handle (shared_ptr) to a TensorImpl: shape + dtype + device over a
// ref-counted Storage. Tensors are always contiguous and row-major. reshape() and leading-dimension
// slices (slice_rows) are views that share storage; every other layout change is an explicit op.
// Copying a Tensor copies the handle, not the data (use clone()).
//
// Autograd fields live on the impl: requires_grad, the accumulated gradient, and whether the tensor is a
// leaf (a parameter or an input) or the output of a recorded op. See engine/autograd.h.
#pragma once

#include "base/dtype.h"
#include "base/error.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace docbert {

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "(4,512,768)"

// A block of bytes on one device, freed when the last Tensor that uses it goes away.
struct Storage {
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t nbytes = 0;
  Device device = Device::CPU;
};

struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // undefined tensor: defined() is false, every accessor throws

  // ---- construction (new storage) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::CPU);
  // Copies `values` (numel must equal shape's) into a new CPU tensor of T's dtype.
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  static Tensor scalar(double value, DType dtype = DType::F32, Device device = Device::CPU);  // shape ()

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const;
  int64_t size(int64_t d) const;  // negative d counts from the end; throws when out of range
  int64_t numel() const;
  size_t nbytes() const;
  DType dtype() const;
  Device device() const;
  bool is_cpu() const { return device() == Device::CPU; }
  std::string describe() const;     // "f32 (4,512) cpu", for error messages
  const std::string& name() const;  // optional, set for parameters; used in error messages
  Tensor& set_name(std::string n);

  // ---- data access ----
  // Host access: the CPU tensor's elements (T must match dtype; a CUDA tensor is an error naming .to(Device::CPU)).
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  // The first element's address on the tensor's device, no type check: what ops put into their params structs.
  void* raw_data();
  const void* raw_data() const;
  template <class T>
  std::vector<T> to_vector() const;  // copies to host, converting to T
  double item() const;               // a one-element tensor's value as double

  // ---- views (share storage, record an autograd node when needed) ----
  Tensor reshape(const Shape& shape) const;             // one dimension may be -1
  Tensor slice_rows(int64_t begin, int64_t end) const;  // rows [begin,end) of dim 0

  // ---- copies ----
  Tensor clone() const;               // same dtype/device, new storage, not part of the graph
  Tensor to(DType dtype) const;       // converting copy on the same device (not differentiable)
  Tensor to(Device device) const;     // host <-> device copy (not differentiable)
  Tensor detach() const;              // shares storage, cut from the graph, requires_grad false
  void copy_from(const Tensor& src);  // same shape and dtype; devices may differ
  void fill(double value);            // any device; bf16 rounds to nearest even

  // ---- autograd (engine/autograd.h) ----
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on);  // only on leaves (parameters, inputs)
  bool is_leaf() const;
  const Tensor& grad() const;  // undefined until a backward pass reaches this tensor
  Tensor& grad_buffer();       // the gradient, allocated as zeros on first use
  void zero_grad();            // drops the gradient
  // Runs the recorded tape backwards from this tensor. `seed` is dL/d(this); it may be omitted only when
  // this tensor has one element (seed = 1). Gradients accumulate (+=) into every tensor that requires them;
  // the tape is released afterwards.
  void backward(const Tensor& seed = Tensor()) const;

  TensorImpl* impl() const { return impl_.get(); }
  bool same_as(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  void check_defined(const char* what) const;
  friend struct TensorImpl;
  friend Tensor make_view(const Tensor& base, const Shape& shape, size_t byte_offset);
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes from storage->data
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  bool is_leaf = true;
  Tensor grad;
  std::string name;
};

// A view of `base`'s storage with another shape starting `byte_offset` bytes further (no autograd).
Tensor make_view(const Tensor& base, const Shape& shape, size_t byte_offset);

// ---- argument checks shared by all ops: each names the op, the argument and both shapes ----
void check_dtype(const char* op, const char* arg, const Tensor& t, DType want);
void check_float(const char* op, const char* arg, const Tensor& t);  // f32 or f64 (CPU compute types)
void check_same_dtype(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b);
void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b);
void check_same_device(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b);
void check_dim(const char* op, const char* arg, const Tensor& t, int64_t ndim);
void check_cpu(const char* op, const Tensor& t);  // host-side code that reads t's elements

// Calls f(float{}) or f(double{}) according to `dtype`, for CPU implementations; any other dtype is an error
// naming `op` (kernels/common.cuh has the CUDA counterpart: f32 and bf16).
template <class F>
auto dispatch_float(DType dtype, const char* op, F&& f) {
  if (dtype == DType::F32) return f(float{});
  if (dtype == DType::F64) return f(double{});
  DOCBERT_THROW("{}: dtype {} is not supported (f32 or f64 on the CPU)", op, dtype_name(dtype));
}

// Element i of host memory of `dtype`, as double; and the store back, converting as Tensor::to(DType) does (bf16:
// round to nearest even once; integers: truncation toward zero).
double load_element(const void* p, DType dtype, int64_t i);
void store_element(void* p, DType dtype, int64_t i, double v);

// Reads an id tensor (i32 or i64) as int64 at index i.
int64_t index_at(const Tensor& ids, int64_t i);

// t's data, or null when t is undefined (optional arguments such as a bias or a mask).
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Index tensors (ids, labels, lengths): `t` must be defined and i32 or i64.
void check_index(const char* op, const char* arg, const Tensor& t);
// check_index, then reads the CPU tensor t as int64 and checks every value lies in [lo, hi): the error names the
// value, its position in t and the range, e.g. "embedding: ids[1,0] = 30522 is outside [0, 30522) in 'ids' (2,3)".
std::vector<int64_t> read_indices(const char* op, const char* arg, const Tensor& t, int64_t lo, int64_t hi);

}  // namespace docbert
