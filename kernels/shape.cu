// Strided block copy kernels for concat and slice (kernels/shape.h). One thread per unit of the outer x len
// blocks, consecutive threads on consecutive units of a block, so each warp access is contiguous on both sides.
// The forward moves bytes in the widest unit (16, 8, 4, 2 or 1 bytes) that every pointer, offset, row length and
// block length is a multiple of: outer len sizeof(dtype) bytes read and written. The backward adds one element per
// thread in f32 (f32/bf16): the gradient block read, its destination read and written. Every destination element
// has one writer, so no atomics.
#include "kernels/shape.h"

#include "kernels/common.cuh"

#include <cstdint>
#include <initializer_list>

namespace docbert::cuda {

namespace {

// The block geometry of StridedCopyParams, in some unit (elements or bytes / width).
struct Blocks {
  int64_t outer, len, dst_row, dst_off, src_row, src_off;
};

// dst blocks = src blocks, in units of U
template <class U>
__global__ void strided_copy_kernel(U* dst, const U* src, Blocks b) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= b.outer * b.len) return;
  const int64_t o = i / b.len, j = i - o * b.len;
  dst[o * b.dst_row + b.dst_off + j] = src[o * b.src_row + b.src_off + j];
}

// dsrc blocks += ddst blocks, in elements
template <class T>
__global__ void strided_accumulate_kernel(T* dsrc, const T* ddst, Blocks b) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= b.outer * b.len) return;
  const int64_t o = i / b.len, j = i - o * b.len;
  T* d = dsrc + o * b.src_row + b.src_off + j;
  *d = from_f32<T>(to_f32(*d) + to_f32(ddst[o * b.dst_row + b.dst_off + j]));
}

Blocks checked_blocks(const char* op, const StridedCopyParams& p) {
  const Blocks b{p.outer, p.len, p.dst_row, p.dst_off, p.src_row, p.src_off};
  DOCBERT_CHECK(b.outer >= 0 && b.len >= 0 && b.dst_off >= 0 && b.src_off >= 0 && b.dst_off + b.len <= b.dst_row &&
                    b.src_off + b.len <= b.src_row,
                "{}: bad blocks: outer {} len {} dst row {} offset {} src row {} offset {}", op, b.outer, b.len,
                b.dst_row, b.dst_off, b.src_row, b.src_off);
  return b;
}

template <class U>
void launch_copy(const char* op, const StridedCopyParams& p, Blocks b, int64_t elem) {
  const int64_t w = static_cast<int64_t>(sizeof(U));
  for (int64_t* v : {&b.len, &b.dst_row, &b.dst_off, &b.src_row, &b.src_off}) *v = *v * elem / w;
  strided_copy_kernel<<<grid_1d(op, b.outer * b.len, kBlock), kBlock, 0, stream()>>>(static_cast<U*>(p.dst),
                                                                                     static_cast<const U*>(p.src), b);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void strided_copy_forward(const StridedCopyParams& p) {
  const char* op = "strided_copy_forward";
  const Blocks b = checked_blocks(op, p);
  if (b.outer == 0 || b.len == 0) return;
  const int64_t elem = static_cast<int64_t>(dtype_size(p.dtype));
  // The widest unit that divides every byte address and length the kernel forms.
  uint64_t bits = reinterpret_cast<uintptr_t>(p.dst) | reinterpret_cast<uintptr_t>(p.src);
  for (int64_t v : {b.len, b.dst_row, b.dst_off, b.src_row, b.src_off}) bits |= static_cast<uint64_t>(v * elem);
  if (bits % 16 == 0) return launch_copy<uint4>(op, p, b, elem);
  if (bits % 8 == 0) return launch_copy<uint2>(op, p, b, elem);
  if (bits % 4 == 0) return launch_copy<uint32_t>(op, p, b, elem);
  if (bits % 2 == 0) return launch_copy<uint16_t>(op, p, b, elem);
  launch_copy<uint8_t>(op, p, b, elem);
}

void strided_copy_backward(const StridedCopyParams& p) {
  const char* op = "strided_copy_backward";
  const Blocks b = checked_blocks(op, p);
  if (b.outer == 0 || b.len == 0 || !p.dsrc) return;
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    strided_accumulate_kernel<<<grid_1d(op, b.outer * b.len, kBlock), kBlock, 0, stream()>>>(
        static_cast<T*>(p.dsrc), static_cast<const T*>(p.ddst), b);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace docbert::cuda
