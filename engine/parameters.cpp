#include "engine/parameters.h"

namespace docbert {

Tensor ParameterRegistry::add(const std::string& name, Tensor t) {
  DOCBERT_CHECK(!name.empty(), "parameter registry: empty parameter name");
  DOCBERT_CHECK(!contains(name), "parameter registry: '{}' is registered twice", name);
  check_float("parameter registry", name.c_str(), t);  // master weights are f32 (f64 in gradient checks)
  // One tensor under two names would be clipped and stepped twice.
  for (const NamedTensor& p : params_)
    DOCBERT_CHECK(!p.tensor.same_as(t), "parameter registry: '{}' is the tensor already registered as '{}'", name,
                  p.name);
  t.set_requires_grad(true);
  t.set_name(name);
  params_.push_back({name, t});
  return t;
}

void ParameterRegistry::add_all(const std::string& prefix, const ParameterRegistry& child) {
  for (const NamedTensor& p : child.all()) add(prefix.empty() ? p.name : prefix + "." + p.name, p.tensor);
}

bool ParameterRegistry::contains(const std::string& name) const {
  for (const NamedTensor& p : params_)
    if (p.name == name) return true;
  return false;
}

const Tensor& ParameterRegistry::get(const std::string& name) const {
  for (const NamedTensor& p : params_)
    if (p.name == name) return p.tensor;
  // Name the registered parameters that share the longest prefix, to make typos obvious.
  std::string near;
  size_t best = 0;
  for (const NamedTensor& p : params_) {
    size_t k = 0;
    while (k < p.name.size() && k < name.size() && p.name[k] == name[k]) ++k;
    if (k > best) {
      best = k;
      near = p.name;
    }
  }
  DOCBERT_THROW("parameter '{}' is not registered ({} parameters{})", name, params_.size(),
                near.empty() ? "" : "; closest: '" + near + "'");
}

int64_t ParameterRegistry::numel() const {
  int64_t n = 0;
  for (const NamedTensor& p : params_) n += p.tensor.numel();
  return n;
}

void ParameterRegistry::zero_grad() {
  for (NamedTensor& p : params_) p.tensor.zero_grad();
}

void ParameterRegistry::to(Device device) {
  for (NamedTensor& p : params_) {
    if (p.tensor.device() == device) continue;
    const Tensor moved = p.tensor.to(device);
    p.tensor.impl()->storage = moved.impl()->storage;
    p.tensor.impl()->offset = 0;
    p.tensor.zero_grad();
  }
}

Device ParameterRegistry::device() const {
  if (params_.empty()) return Device::CPU;
  const Device d = params_.front().tensor.device();
  for (const NamedTensor& p : params_)
    DOCBERT_CHECK(p.tensor.device() == d, "parameter registry: '{}' is {} but '{}' is {}", p.name, p.tensor.describe(),
                  params_.front().name, params_.front().tensor.describe());
  return d;
}

}  // namespace docbert
