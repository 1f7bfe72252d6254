#include "kernels/device_memory.h"

#include "kernels/cuda_check.h"

#include <cstdlib>
#include <cstring>

namespace docbert {

void cuda_fail(const char* what, const char* stmt, const char* file, int line) {
  throw Error(fmt::format("CUDA error '{}' in {}", what, stmt), file, line);
}

bool cuda_sync_check_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("DOCBERT_SYNC_CHECK");
    return v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error so later checks are not confused
    return 0;
  }
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
