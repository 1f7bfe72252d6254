// engine/device.h: which device a run uses, for every build (with or without the CUDA backend).
//
// The executables' --device flag takes auto, cpu or cuda:
//   auto  the GPU when one is usable, else the CPU; the note says which and, for the CPU, why (no device, a driver
//         too old for this build, or a build without CUDA)
//   cpu   the CPU
//   cuda  the GPU; an error before any work when there is none, naming the reason
#pragma once

#include "base/dtype.h"

#include <string>

namespace docbert {

// True when a CUDA device can be used; otherwise *why (when given) says why. Never throws.
bool cuda_available(std::string* why = nullptr);

// Resolves a --device value (auto, cpu, cuda) to a device; *note receives one line for the log, e.g.
// "device: cuda (NVIDIA H200 (sm_90, 139.8 GiB))" or "device: cpu (no usable CUDA device: ...)".
Device resolve_device(const std::string& flag, std::string* note);

// Waits for the device's queued work (no-op on the CPU): timing and host reads of device results need it.
void synchronize(Device device);

// Peak and current device memory of the caching allocator in bytes (0 on the CPU or without CUDA).
struct DeviceMemory {
  size_t current_bytes = 0, peak_bytes = 0, reserved_bytes = 0;
  int64_t device_mallocs = 0;
};
DeviceMemory device_memory();

}  // namespace docbert
