// The CUDA runtime of kernels/runtime.h and kernels/stream.h: device discovery, the caching allocator, the one
// compute stream with its cuBLAS/cuBLASLt handles, and the host <-> device copies.
#include "kernels/runtime.h"

#include "kernels/cuda_check.h"
#include "kernels/stream.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

namespace docbert::cuda {

int device_count(std::string* why) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error so later checks are not confused
    if (why) {
      *why = fmt::format("{} ({})", cudaGetErrorString(err), cudaGetErrorName(err));
      if (err == cudaErrorInsufficientDriver)
        *why += fmt::format(": no NVIDIA driver was found, or it is older than this build's CUDA {}.{}",
                            CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    }
    return 0;
  }
  if (n == 0 && why) *why = "the CUDA runtime found no device";
  return n;
}

std::string device_description() {
  std::string why;
  DOCBERT_CHECK(device_count(&why) > 0, "no usable CUDA device: {}", why);
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return fmt::format("{} (sm_{}{}, {:.1f} GiB)", prop.name, prop.major, prop.minor,
                     static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024 * 1024));
}

// ---------------------------------------------------------------------------------------------------
// the stream and the library handles

namespace {

struct Handles {
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  cublasHandle_t blas = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 32u << 20;  // cuBLASLt's recommendation for Hopper is 32 MiB
  Handles() {
    CUDA_CHECK(cudaSetDevice(0));
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasLtCreate(&lt));
    CUBLAS_CHECK(cublasCreate(&blas));
    CUBLAS_CHECK(cublasSetStream(blas, stream));
    CUDA_CHECK(cudaMalloc(&workspace, workspace_bytes));
    CUBLAS_CHECK(cublasSetWorkspace(blas, workspace, workspace_bytes));
  }
  // Left to the driver at process exit: destroying handles after the CUDA context is gone fails.
};

Handles& handles() {
  static Handles h;
  return h;
}

}  // namespace

cudaStream_t stream() { return handles().stream; }
cublasLtHandle_t blaslt() { return handles().lt; }
cublasHandle_t blas() { return handles().blas; }
void* blaslt_workspace() { return handles().workspace; }
size_t blaslt_workspace_bytes() { return handles().workspace_bytes; }

// ---------------------------------------------------------------------------------------------------
// the caching allocator

namespace {

size_t round_block(size_t n) {
  constexpr size_t kSmall = 512, kLarge = 1u << 20;
  return n < kLarge ? (n + kSmall - 1) / kSmall * kSmall : (n + kLarge - 1) / kLarge * kLarge;
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // size -> block, unused
  std::unordered_map<void*, size_t> live;    // block -> size, in use
  MemoryStats stats;

  void release_cached() {
    for (auto& [size, ptr] : free_blocks) {
      cudaFree(ptr);
      stats.reserved_bytes -= size;
    }
    free_blocks.clear();
  }
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors freed during static destruction still find it
  return *c;
}

}  // namespace

void* alloc(size_t nbytes) {
  DOCBERT_CHECK(nbytes > 0, "cuda::alloc: 0 bytes");
  handles();  // the device and stream exist before the first block
  const size_t size = round_block(nbytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  void* ptr = nullptr;
  // A cached block at most twice the request (so a small tensor does not pin a huge block).
  auto it = c.free_blocks.lower_bound(size);
  if (it != c.free_blocks.end() && it->first <= 2 * size) {
    ptr = it->second;
    c.live[ptr] = it->first;
    c.stats.current_bytes += it->first;
    c.free_blocks.erase(it);
  } else {
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      CUDA_CHECK(cudaStreamSynchronize(handles().stream));  // cached blocks may still be read by queued kernels
      c.release_cached();
      err = cudaMalloc(&ptr, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      DOCBERT_THROW(
          "out of GPU memory allocating {} bytes ({}): {} bytes in live tensors, {} free of {} on the device; "
          "try a smaller --batch-size (with --grad-accum-steps) or --max-seq-length",
          nbytes, cudaGetErrorString(err), c.stats.current_bytes, free_b, total_b);
    }
    ++c.stats.device_mallocs;
    c.stats.reserved_bytes += size;
    c.live[ptr] = size;
    c.stats.current_bytes += size;
  }
  c.stats.peak_bytes = std::max(c.stats.peak_bytes, c.stats.current_bytes);
  return ptr;
}

void release(void* ptr) {
  if (!ptr) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.live.find(ptr);
  if (it == c.live.end()) return;  // not ours: a programming error, but destructors must not throw
  c.stats.current_bytes -= it->second;
  c.free_blocks.emplace(it->second, ptr);
  c.live.erase(it);
}

MemoryStats memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void reset_peak_memory() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak_bytes = c.stats.current_bytes;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  CUDA_CHECK(cudaStreamSynchronize(handles().stream));
  c.release_cached();
}

// ---------------------------------------------------------------------------------------------------
// copies

namespace {

// Pinned host memory that uploads are staged through, so cudaMemcpyAsync is truly asynchronous. `ready` is
// recorded after each upload; the next one waits for it before overwriting the buffer.
struct Staging {
  void* buf = nullptr;
  size_t bytes = 0;
  cudaEvent_t ready = nullptr;
  std::mutex mu;
};

Staging& staging() {
  static Staging* s = new Staging;
  return *s;
}

}  // namespace

void memset_zero(void* dev, size_t nbytes) {
  if (nbytes) CUDA_CHECK(cudaMemsetAsync(dev, 0, nbytes, stream()));
}

void copy_host_to_device(void* dev, const void* host, size_t nbytes) {
  if (!nbytes) return;
  constexpr size_t kMaxStaged = 64u << 20;  // larger uploads (checkpoints) go straight from pageable memory
  if (nbytes > kMaxStaged) {
    CUDA_CHECK(cudaMemcpyAsync(dev, host, nbytes, cudaMemcpyHostToDevice, stream()));
    CUDA_CHECK(cudaStreamSynchronize(stream()));
    return;
  }
  Staging& s = staging();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.ready) CUDA_CHECK(cudaEventCreateWithFlags(&s.ready, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventSynchronize(s.ready));  // the previous upload has left the buffer
  if (s.bytes < nbytes) {
    if (s.buf) CUDA_CHECK(cudaFreeHost(s.buf));
    s.bytes = std::max(nbytes, size_t(1) << 20);
    CUDA_CHECK(cudaMallocHost(&s.buf, s.bytes));
  }
  std::memcpy(s.buf, host, nbytes);
  CUDA_CHECK(cudaMemcpyAsync(dev, s.buf, nbytes, cudaMemcpyHostToDevice, stream()));
  CUDA_CHECK(cudaEventRecord(s.ready, stream()));
}

void copy_device_to_host(void* host, const void* dev, size_t nbytes) {
  if (!nbytes) return;
  CUDA_CHECK(cudaMemcpyAsync(host, dev, nbytes, cudaMemcpyDeviceToHost, stream()));
  CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes) {
  if (nbytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, stream()));
}

void synchronize() { CUDA_CHECK(cudaStreamSynchronize(stream())); }

}  // namespace docbert::cuda
