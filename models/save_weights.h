// models/save_weights.h: writing a model's parameters as the model.safetensors of a saved folder, from any device.
#pragma once

#include "engine/parameters.h"

#include <string>

namespace docbert {

// Writes every parameter of `params` under its registered name, in its own dtype, to the safetensors file `path`
// (atomically, engine/safetensors.h) with metadata {"format": "pt"}, which transformers requires. Parameters on a
// device are copied to the host for the write (save_safetensors reads host memory); the model is left as it was.
void save_weights(const std::string& path, const ParameterRegistry& params);

}  // namespace docbert
