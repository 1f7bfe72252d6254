#include "engine/device.h"

#include "base/error.h"

#ifdef DOCBERT_WITH_CUDA
#include "kernels/runtime.h"
#endif

namespace docbert {

bool cuda_available(std::string* why) {
#ifdef DOCBERT_WITH_CUDA
  return cuda::device_count(why) > 0;
#else
  if (why) *why = "this docbert was built without the CUDA backend (DOCBERT_CUDA=OFF or no nvcc at build time)";
  return false;
#endif
}

Device resolve_device(const std::string& flag, std::string* note) {
  DOCBERT_CHECK(flag == "auto" || flag == "cpu" || flag == "cuda", "--device must be auto, cpu or cuda, got '{}'",
                flag);
  std::string why;
  if (flag == "cpu") {
    if (note) *note = "device: cpu (--device cpu)";
    return Device::CPU;
  }
  if (!cuda_available(&why)) {
    DOCBERT_CHECK(flag == "auto", "--device cuda: no usable CUDA device: {}", why);
    if (note) *note = "device: cpu (--device auto: no usable CUDA device: " + why + ")";
    return Device::CPU;
  }
#ifdef DOCBERT_WITH_CUDA
  if (note) *note = "device: cuda (" + cuda::device_description() + ")";
#endif
  return Device::CUDA;
}

void synchronize(Device device) {
#ifdef DOCBERT_WITH_CUDA
  if (device == Device::CUDA) cuda::synchronize();
#endif
}

DeviceMemory device_memory() {
  DeviceMemory m;
#ifdef DOCBERT_WITH_CUDA
  if (cuda_available()) {
    const cuda::MemoryStats s = cuda::memory_stats();
    m.current_bytes = s.current_bytes;
    m.peak_bytes = s.peak_bytes;
    m.reserved_bytes = s.reserved_bytes;
    m.device_mallocs = s.device_mallocs;
  }
#endif
  return m;
}

}  // namespace docbert
