// kernels/host_device.h: DOCBERT_HD marks the small inline functions shared by the CPU path and CUDA kernels
// (Philox, GELU math). Under nvcc they compile for host and device; under a plain C++ compiler they are inline.
#pragma once

#if defined(__CUDACC__)
#define DOCBERT_HD __host__ __device__ __forceinline__
#else
#define DOCBERT_HD inline
#endif
