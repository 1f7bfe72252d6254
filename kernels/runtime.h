// kernels/runtime.h: the CUDA device runtime, as plain C++ (no CUDA header), so engine/ can call it.
//
// Rules (docs/architecture.md, "Device memory and the stream"):
// - One device (the first visible one) and one compute stream. Every kernel, memset and copy in docbert is
//   enqueued on that stream, so work is ordered without events and a freed block can be reused at once: any
//   kernel that still reads it was enqueued earlier on the same stream.
// - Device memory comes from a caching allocator: blocks are rounded up (512 B under 1 MiB, 1 MiB above), kept on
//   release and handed out again, so a training step that repeats the previous step's shapes calls cudaMalloc
//   never. When cudaMalloc fails the cache is returned to the driver and the call is retried once.
// - Copies to the host synchronise the stream (the host needs the bytes); copies from the host go through a
//   pinned staging buffer and return once the bytes are staged, before the transfer completes.
// Every function throws docbert::Error (statement, CUDA error, file:line) on a CUDA failure, except
// device_count (never throws) and release (runs in destructors; errors are ignored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace docbert::cuda {

// Number of usable CUDA devices; 0 when there is no device, no driver or a driver too old for this runtime.
// When it returns 0 and `why` is given, *why says why in words a user can act on.
int device_count(std::string* why = nullptr);
// "NVIDIA H200 (sm_90, 139.8 GiB)": the device docbert runs on. Throws when there is none.
std::string device_description();

// Device memory from the caching allocator (nbytes > 0). release takes a pointer that alloc returned.
void* alloc(size_t nbytes);
void release(void* ptr);

struct MemoryStats {
  size_t current_bytes = 0;    // bytes held by live tensors (rounded block sizes)
  size_t peak_bytes = 0;       // the most current_bytes has been since the start or reset_peak_memory()
  size_t reserved_bytes = 0;   // bytes obtained from cudaMalloc, live or cached
  int64_t device_mallocs = 0;  // cudaMalloc calls so far (flat during a steady training loop)
};
MemoryStats memory_stats();
void reset_peak_memory();
// Returns every cached (unused) block to the driver.
void empty_cache();

// Copies, all on the compute stream. Pointers may be any device/host combination their names say.
void memset_zero(void* dev, size_t nbytes);
void copy_host_to_device(void* dev, const void* host, size_t nbytes);  // staged through pinned memory
void copy_device_to_host(void* host, const void* dev, size_t nbytes);  // synchronises the stream
void copy_device_to_device(void* dst, const void* src, size_t nbytes);
// Waits for everything enqueued so far.
void synchronize();

}  // namespace docbert::cuda
