// kernels/stream.h: what the launchers in kernels/*.cu share from the runtime (CUDA code only; engine/ uses
// kernels/runtime.h). Each handle is made once, on first use, for the one device docbert runs on.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace docbert::cuda {

cudaStream_t stream();      // the one compute stream every launcher enqueues on
cublasLtHandle_t blaslt();  // cuBLASLt handle for the GEMMs
cublasHandle_t blas();      // plain cuBLAS handle (the baseline in bench/, batched GEMMs), on stream()
void* blaslt_workspace();   // cuBLASLt's workspace, blaslt_workspace_bytes() long
size_t blaslt_workspace_bytes();

}  // namespace docbert::cuda
