// kernels/cuda_check.h: the one error path for CUDA and cuBLAS statuses (CUDA code only).
//
// CUDA_CHECK(expr) evaluates a cudaError_t expression and throws docbert::Error naming the failed statement,
// the CUDA error and file:line; CUBLAS_CHECK does the same for a cublasStatus_t (cuBLAS and cuBLASLt).
// CUDA_CHECK_LAUNCH() goes after every <<<>>> launch; with the environment variable DOCBERT_SYNC_CHECK=1 it also
// synchronises, so an asynchronous fault is reported at the launch that caused it rather than at some later call.
// The out-of-line halves are in kernels/cuda_check.cu.
#pragma once

#include "base/error.h"

#include <cublas_api.h>
#include <cuda_runtime.h>

namespace docbert {

[[noreturn]] void cuda_fail(const char* what, const char* stmt, const char* file, int line);
[[noreturn]] void cublas_fail(cublasStatus_t status, const char* stmt, const char* file, int line);
bool cuda_sync_check_enabled();

}  // namespace docbert

#define CUDA_CHECK(expr)                                                                 \
  do {                                                                                   \
    cudaError_t docbert_err_ = (expr);                                                   \
    if (docbert_err_ != cudaSuccess)                                                     \
      ::docbert::cuda_fail(cudaGetErrorString(docbert_err_), #expr, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(expr)                                                                                    \
  do {                                                                                                        \
    cublasStatus_t docbert_st_ = (expr);                                                                      \
    if (docbert_st_ != CUBLAS_STATUS_SUCCESS) ::docbert::cublas_fail(docbert_st_, #expr, __FILE__, __LINE__); \
  } while (0)

#define CUDA_CHECK_LAUNCH()                                                        \
  do {                                                                             \
    CUDA_CHECK(cudaGetLastError());                                                \
    if (::docbert::cuda_sync_check_enabled()) CUDA_CHECK(cudaDeviceSynchronize()); \
  } while (0)
