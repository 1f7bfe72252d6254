#include "models/save_weights.h"

#include "engine/safetensors.h"

#include <vector>

namespace docbert {

void save_weights(const std::string& path, const ParameterRegistry& params) {
  std::vector<NamedTensor> host;
  host.reserve(params.size());
  for (const NamedTensor& p : params.all())
    host.push_back({p.name, p.tensor.is_cpu() ? p.tensor : p.tensor.to(Device::CPU)});
  save_safetensors(path, host, {{"format", "pt"}});
}

}  // namespace docbert
