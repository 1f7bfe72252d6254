#include "engine/tensor.h"

#include "engine/autograd.h"

#include <cstdlib>
#include <cstring>
#include <new>

#ifdef DOCBERT_WITH_CUDA
#include "kernels/runtime.h"
#include "kernels/tensor_ops.h"
#endif

namespace docbert {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + ")";
}

// ---------------------------------------------------------------------------------------------------
// Storage

Storage::Storage(size_t n, Device d) : nbytes(n), device(d) {
  if (device == Device::CPU) {
    // 64-byte alignment suits AVX-512 loads and keeps Eigen's aligned paths available.
    size_t rounded = (n + 63) / 64 * 64;
    data = rounded ? std::aligned_alloc(64, rounded) : nullptr;
    if (rounded && !data) DOCBERT_THROW("out of host memory allocating {} bytes", n);
  } else {
#ifdef DOCBERT_WITH_CUDA
    data = n ? cuda::alloc(n) : nullptr;
#else
    DOCBERT_THROW("cannot allocate a cuda tensor: docbert was built without CUDA (DOCBERT_CUDA=OFF)");
#endif
  }
}

Storage::~Storage() {
  if (!data) return;
  if (device == Device::CPU) {
    std::free(data);
  } else {
#ifdef DOCBERT_WITH_CUDA
    cuda::release(data);
#endif
  }
}

// ---------------------------------------------------------------------------------------------------
// construction

static void check_shape_valid(const Shape& shape) {
  for (int64_t d : shape) DOCBERT_CHECK(d >= 0, "tensor shape {} has a negative dimension", shape_str(shape));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape_valid(shape);
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device == Device::CPU) {
    if (t.nbytes()) std::memset(t.raw_data(), 0, t.nbytes());
  } else {
#ifdef DOCBERT_WITH_CUDA
    cuda::memset_zero(t.raw_data(), t.nbytes());
#endif
  }
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  DOCBERT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
                "from_vector: {} values do not fill shape {}", values.size(), shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>::value);
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<bf16>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<int32_t>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&);

Tensor make_view(const Tensor& base, const Shape& shape, size_t byte_offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl_->storage;
  impl->offset = base.impl_->offset + byte_offset;
  impl->shape = shape;
  impl->dtype = base.impl_->dtype;
  return Tensor(std::move(impl));
}

// ---------------------------------------------------------------------------------------------------
// metadata

void Tensor::check_defined(const char* what) const {
  if (!impl_) DOCBERT_THROW("{}: the tensor is undefined", what);
}
const Shape& Tensor::shape() const {
  check_defined("shape");
  return impl_->shape;
}
int64_t Tensor::dim() const { return static_cast<int64_t>(shape().size()); }
int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  int64_t i = d < 0 ? d + n : d;
  DOCBERT_CHECK(i >= 0 && i < n, "size({}): tensor {} has {} dimensions", d, shape_str(shape()), n);
  return impl_->shape[static_cast<size_t>(i)];
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
size_t Tensor::nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
DType Tensor::dtype() const {
  check_defined("dtype");
  return impl_->dtype;
}
Device Tensor::device() const {
  check_defined("device");
  return impl_->storage->device;
}
const std::string& Tensor::name() const {
  check_defined("name");
  return impl_->name;
}
Tensor& Tensor::set_name(std::string n) {
  check_defined("set_name");
  impl_->name = std::move(n);
  return *this;
}

std::string Tensor::describe() const {
  if (!impl_) return "undefined";
  std::string s = fmt::format("{} {} {}", dtype_name(dtype()), shape_str(shape()), device_name(device()));
  return impl_->name.empty() ? s : impl_->name + " " + s;
}

void* Tensor::raw_data() {
  check_defined("data");
  return static_cast<char*>(impl_->storage->data) + impl_->offset;
}
const void* Tensor::raw_data() const {
  check_defined("data");
  return static_cast<const char*>(impl_->storage->data) + impl_->offset;
}

template <class T>
T* Tensor::data() {
  check_defined("data");
  DOCBERT_CHECK(dtype() == dtype_of<T>::value, "data<{}>(): tensor is {}", dtype_name(dtype_of<T>::value), describe());
  DOCBERT_CHECK(is_cpu(), "data(): tensor {} is not on the cpu; copy it with .to(Device::CPU)", describe());
  return static_cast<T*>(raw_data());
}
template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}
#define DOCBERT_INST_DATA(T)     \
  template T* Tensor::data<T>(); \
  template const T* Tensor::data<T>() const;
DOCBERT_INST_DATA(float)
DOCBERT_INST_DATA(double)
DOCBERT_INST_DATA(bf16)
DOCBERT_INST_DATA(int32_t)
DOCBERT_INST_DATA(int64_t)
#undef DOCBERT_INST_DATA

double load_element(const void* p, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::F32:
      return static_cast<const float*>(p)[i];
    case DType::F64:
      return static_cast<const double*>(p)[i];
    case DType::BF16:
      return static_cast<const bf16*>(p)[i].to_float();
    case DType::I32:
      return static_cast<const int32_t*>(p)[i];
    case DType::I64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
  }
  return 0;
}

void store_element(void* p, DType dtype, int64_t i, double v) {
  switch (dtype) {
    case DType::F32:
      static_cast<float*>(p)[i] = static_cast<float>(v);
      break;
    case DType::F64:
      static_cast<double*>(p)[i] = v;
      break;
    case DType::BF16:
      static_cast<bf16*>(p)[i] = bf16::from_double(v);
      break;
    case DType::I32:
      static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v);
      break;
    case DType::I64:
      static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v);
      break;
  }
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = is_cpu() ? *this : to(Device::CPU);
  if (host.dtype() != dtype_of<T>::value) host = host.to(dtype_of<T>::value);
  std::vector<T> out(static_cast<size_t>(numel()));
  if (!out.empty()) std::memcpy(out.data(), host.raw_data(), host.nbytes());
  return out;
}
template std::vector<float> Tensor::to_vector() const;
template std::vector<double> Tensor::to_vector() const;
template std::vector<bf16> Tensor::to_vector() const;
template std::vector<int32_t> Tensor::to_vector() const;
template std::vector<int64_t> Tensor::to_vector() const;

double Tensor::item() const {
  DOCBERT_CHECK(numel() == 1, "item(): tensor {} has {} elements, not 1", describe(), numel());
  Tensor host = is_cpu() ? *this : to(Device::CPU);
  return load_element(host.raw_data(), host.dtype(), 0);
}

// ---------------------------------------------------------------------------------------------------
// views

Tensor Tensor::reshape(const Shape& new_shape) const {
  Shape s = new_shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      DOCBERT_CHECK(infer < 0, "reshape: more than one -1 in {}", shape_str(new_shape));
      infer = static_cast<int64_t>(i);
    } else {
      DOCBERT_CHECK(s[i] >= 0, "reshape: invalid dimension in {}", shape_str(new_shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    DOCBERT_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape {} to {}", describe(),
                  shape_str(new_shape));
    s[static_cast<size_t>(infer)] = numel() / known;
  }
  DOCBERT_CHECK(shape_numel(s) == numel(), "reshape: cannot reshape {} to {} ({} vs {} elements)", describe(),
                shape_str(new_shape), numel(), shape_numel(s));
  Tensor out = make_view(*this, s, 0);
  if (grad_needed({this})) {
    record_node("reshape", {*this}, {out}, [old = shape()](Node& node) {
      const Tensor& g = node.outputs[0].grad();
      add_into(node.inputs[0].grad_buffer(), make_view(g, old, 0));
    });
  }
  return out;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  DOCBERT_CHECK(dim() >= 1, "slice_rows: tensor {} has no rows", describe());
  DOCBERT_CHECK(0 <= begin && begin <= end && end <= size(0), "slice_rows: [{}, {}) is outside the {} rows of {}",
                begin, end, size(0), describe());
  Shape s = shape();
  s[0] = end - begin;
  size_t row_bytes = static_cast<size_t>(shape_numel(Shape(shape().begin() + 1, shape().end()))) * dtype_size(dtype());
  Tensor out = make_view(*this, s, static_cast<size_t>(begin) * row_bytes);
  if (grad_needed({this})) {
    record_node("slice_rows", {*this}, {out}, [begin, row_bytes](Node& node) {
      Tensor& gin = node.inputs[0].grad_buffer();
      const Tensor& g = node.outputs[0].grad();
      add_into(make_view(gin, g.shape(), static_cast<size_t>(begin) * row_bytes), g);
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// copies

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return clone();
  Tensor out = empty(shape(), t, device());
  if (is_cpu()) {
    for (int64_t i = 0; i < numel(); ++i) store_element(out.raw_data(), t, i, load_element(raw_data(), dtype(), i));
  } else {
#ifdef DOCBERT_WITH_CUDA
    cuda::cast(out.raw_data(), t, raw_data(), dtype(), numel());
#endif
  }
  return out;
}

Tensor Tensor::to(Device d) const {
  Tensor out = empty(shape(), dtype(), d);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::detach() const { return make_view(*this, shape(), 0); }

void Tensor::copy_from(const Tensor& src) {
  DOCBERT_CHECK(src.shape() == shape() && src.dtype() == dtype(), "copy_from: source {} does not match destination {}",
                src.describe(), describe());
  if (nbytes() == 0) return;
  if (is_cpu() && src.is_cpu()) {
    std::memmove(raw_data(), src.raw_data(), nbytes());
    return;
  }
#ifdef DOCBERT_WITH_CUDA
  if (is_cpu())
    cuda::copy_device_to_host(raw_data(), src.raw_data(), nbytes());
  else if (src.is_cpu())
    cuda::copy_host_to_device(raw_data(), src.raw_data(), nbytes());
  else
    cuda::copy_device_to_device(raw_data(), src.raw_data(), nbytes());
#else
  DOCBERT_THROW("copy_from: cuda tensors need a build with DOCBERT_CUDA");
#endif
}

void Tensor::fill(double value) {
  if (is_cpu()) {
    for (int64_t i = 0; i < numel(); ++i) store_element(raw_data(), dtype(), i, value);
    return;
  }
#ifdef DOCBERT_WITH_CUDA
  cuda::fill(raw_data(), dtype(), numel(), value);
#endif
}

// ---------------------------------------------------------------------------------------------------
// autograd accessors (the tape itself is in autograd.cpp)

bool Tensor::requires_grad() const {
  check_defined("requires_grad");
  return impl_->requires_grad;
}
bool Tensor::is_leaf() const {
  check_defined("is_leaf");
  return impl_->is_leaf;
}
Tensor& Tensor::set_requires_grad(bool on) {
  check_defined("set_requires_grad");
  DOCBERT_CHECK(impl_->is_leaf, "set_requires_grad: {} is the output of an op; only leaves can be changed", describe());
  DOCBERT_CHECK(!on || dtype_is_float(dtype()), "set_requires_grad: {} is not a floating-point tensor", describe());
  impl_->requires_grad = on;
  return *this;
}
const Tensor& Tensor::grad() const {
  check_defined("grad");
  return impl_->grad;
}
Tensor& Tensor::grad_buffer() {
  check_defined("grad_buffer");
  if (!impl_->grad.defined()) impl_->grad = zeros(shape(), dtype(), device());
  return impl_->grad;
}
void Tensor::zero_grad() {
  check_defined("zero_grad");
  impl_->grad = Tensor();
}

// ---------------------------------------------------------------------------------------------------
// checks

void check_dtype(const char* op, const char* arg, const Tensor& t, DType want) {
  DOCBERT_CHECK(t.defined(), "{}: argument '{}' is undefined", op, arg);
  DOCBERT_CHECK(t.dtype() == want, "{}: '{}' must be {}, got {}", op, arg, dtype_name(want), t.describe());
}
void check_float(const char* op, const char* arg, const Tensor& t) {
  DOCBERT_CHECK(t.defined(), "{}: argument '{}' is undefined", op, arg);
  DOCBERT_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64, "{}: '{}' must be f32 or f64, got {}", op, arg,
                t.describe());
}
void check_same_dtype(const char* op, const char* an, const Tensor& a, const char* bn, const Tensor& b) {
  DOCBERT_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch: '{}' is {} but '{}' is {}", op, an, a.describe(), bn,
                b.describe());
}
void check_same_shape(const char* op, const char* an, const Tensor& a, const char* bn, const Tensor& b) {
  DOCBERT_CHECK(a.shape() == b.shape(), "{}: shape mismatch: '{}' is {} but '{}' is {}", op, an, shape_str(a.shape()),
                bn, shape_str(b.shape()));
}
void check_same_device(const char* op, const char* an, const Tensor& a, const char* bn, const Tensor& b) {
  DOCBERT_CHECK(a.device() == b.device(), "{}: device mismatch: '{}' is {} but '{}' is {}", op, an, a.describe(), bn,
                b.describe());
}
void check_dim(const char* op, const char* arg, const Tensor& t, int64_t ndim) {
  DOCBERT_CHECK(t.defined(), "{}: argument '{}' is undefined", op, arg);
  DOCBERT_CHECK(t.dim() == ndim, "{}: '{}' must have {} dimensions, got {}", op, arg, ndim, t.describe());
}
void check_cpu(const char* op, const Tensor& t) {
  DOCBERT_CHECK(t.is_cpu(), "{}: {} must be on the cpu (copy it with .to(Device::CPU))", op, t.describe());
}

int64_t index_at(const Tensor& ids, int64_t i) {
  if (ids.dtype() == DType::I64) return ids.data<int64_t>()[i];
  if (ids.dtype() == DType::I32) return ids.data<int32_t>()[i];
  DOCBERT_THROW("index tensor {} must be i32 or i64", ids.describe());
}

void check_index(const char* op, const char* arg, const Tensor& t) {
  DOCBERT_CHECK(t.defined(), "{}: argument '{}' is undefined", op, arg);
  DOCBERT_CHECK(t.dtype() == DType::I32 || t.dtype() == DType::I64, "{}: '{}' must be i32 or i64, got {}", op, arg,
                t.describe());
}

std::vector<int64_t> read_indices(const char* op, const char* arg, const Tensor& t, int64_t lo, int64_t hi) {
  check_index(op, arg, t);
  if (!t.is_cpu()) return read_indices(op, arg, t.to(Device::CPU), lo, hi);
  const int64_t N = t.numel();
  std::vector<int64_t> out(static_cast<size_t>(N));
  auto read = [&](const auto* p) {
    for (int64_t i = 0; i < N; ++i) {
      const int64_t v = static_cast<int64_t>(p[i]);
      if (v < lo || v >= hi) {
        std::string pos;
        for (int64_t d = t.dim() - 1, rest = i; d >= 0; --d) {
          pos.insert(0, (d ? "," : "") + std::to_string(rest % t.size(d)));
          rest /= t.size(d);
        }
        DOCBERT_THROW("{}: {}[{}] = {} is outside [{}, {}) in '{}' {}", op, arg, pos, v, lo, hi, arg,
                      shape_str(t.shape()));
      }
      out[static_cast<size_t>(i)] = v;
    }
  };
  if (t.dtype() == DType::I64)
    read(t.data<int64_t>());
  else
    read(t.data<int32_t>());
  return out;
}

}  // namespace docbert
