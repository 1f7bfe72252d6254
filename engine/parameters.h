// engine/parameters.h: the parameter registry models use.
//
// A model registers each trainable tensor under the exact name it has in a checkpoint
// ("bert.encoder.layer.0.attention.self.query.weight"), so loading and saving are a 1:1 walk over this
// list and optimizers can apply name-based rules (no weight decay on biases and LayerNorm parameters).
// Registration order is kept: it is the order of optimizer state and of checkpoint writing.
#pragma once

#include "engine/tensor.h"

#include <string>
#include <utility>
#include <vector>

namespace docbert {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

class ParameterRegistry {
 public:
  // Registers `t` (an f32 or f64 leaf: master weights are never bf16) under `name`, marks it requires_grad and
  // names the tensor. Duplicate names, and a tensor already registered under another name, are errors.
  // Returns the tensor handle for convenience.
  Tensor add(const std::string& name, Tensor t);
  // Registers every parameter of `child` under "<prefix>.<name>".
  void add_all(const std::string& prefix, const ParameterRegistry& child);
  const Tensor& get(const std::string& name) const;  // throws listing close names when missing
  bool contains(const std::string& name) const;
  const std::vector<NamedTensor>& all() const { return params_; }
  size_t size() const { return params_.size(); }
  int64_t numel() const;  // total number of parameters
  void zero_grad();
  // Moves every parameter's data to `device` in place: the handles a model holds keep working and now refer to
  // the copy (gradients are dropped). Models are built and loaded on the host, then moved once.
  void to(Device device);
  Device device() const;  // the parameters' device (CPU when there are none); throws when they are mixed

 private:
  std::vector<NamedTensor> params_;
};

}  // namespace docbert
