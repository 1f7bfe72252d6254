// kernels/device_memory.h: device allocation and copies used by engine/tensor.cpp's Storage.
//
// Plain host functions over the CUDA runtime, each checked through CUDA_CHECK. (The caching allocator
// that keeps cudaMalloc out of the training loop replaces cuda_alloc/cuda_free with the CUDA backend.)
#pragma once

#include <cstddef>
#include <string>

namespace docbert {

// Number of usable CUDA devices; 0 when there is no device or no usable driver. Never throws: when it returns 0
// and `why` is given, *why says why (the CUDA error, e.g. "CUDA driver version is insufficient for CUDA runtime
// version", or that the runtime found no device).
int cuda_device_count(std::string* why = nullptr);
void* cuda_alloc(size_t nbytes);  // device memory, throws docbert::Error on failure
void cuda_free(void* ptr);        // ptr from cuda_alloc; errors are ignored (runs in destructors)
void cuda_memset_zero(void* ptr, size_t nbytes);
// Copies nbytes between any two pointers (host or device), synchronously.
void cuda_copy(void* dst, const void* src, size_t nbytes);

}  // namespace docbert
