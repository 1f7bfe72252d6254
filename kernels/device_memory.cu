#include "kernels/device_memory.h"

#include "kernels/cuda_check.h"

namespace docbert {

int cuda_device_count(std::string* why) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error so later checks are not confused
    if (why) *why = fmt::format("cudaGetDeviceCount failed: {} ({})", cudaGetErrorString(err), cudaGetErrorName(err));
    return 0;
  }
  if (n == 0 && why) *why = "cudaGetDeviceCount found no CUDA device";
  return n;
}

void* cuda_alloc(size_t nbytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, nbytes));
  return p;
}

void cuda_free(void* ptr) { cudaFree(ptr); }

void cuda_memset_zero(void* ptr, size_t nbytes) { CUDA_CHECK(cudaMemset(ptr, 0, nbytes)); }

void cuda_copy(void* dst, const void* src, size_t nbytes) {
  CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDefault));
}

}  // namespace docbert
