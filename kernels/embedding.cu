// Embedding kernels (kernels/embedding.h).
// Forward: a gather, one thread per 16-byte chunk of an output row when the row size and the pointers allow (else
// one per element): N C sizeof(T) bytes read and written, the reads contiguous within each table row.
// Backward: deterministic without atomics and without a device sort. The host, which validates the ids anyway,
// groups the token positions by id (EmbeddingParams' rows/starts/tokens, ascending within an id); block
// (u, column tile) then sums the gradient rows of id rows[u]'s tokens in token order, one column per thread (each
// warp reads 32 consecutive values of a row), in f32, and adds the sum to its table row once. Every table element
// has one writer and a fixed order, so two runs give the same bits. Rows of the table no token uses are not touched;
// a frequent id (padding, token type 0) is a long serial loop for its blocks, but the loads are independent, so it
// runs at memory speed: N C sizeof(T) bytes of dout read, U C sizeof(T) of dtable read and written.
#include "kernels/embedding.h"

#include "kernels/common.cuh"

namespace docbert::cuda {

namespace {

constexpr int kColumnTile = 128;  // threads of a backward block: one column each

// out (N, row) = table[ids] in units of Unit (row = units per table row)
template <class Unit>
__global__ void embedding_forward_kernel(Unit* out, const Unit* table, const int64_t* ids, int64_t N, int64_t row) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * row) return;
  const int64_t n = i / row, j = i - n * row;
  out[i] = table[ids[n] * row + j];
}

// dtable[rows[u], c] += sum over t in [starts[u], starts[u+1]) of dout[tokens[t], c]; block (u, tile of columns)
template <class T>
__global__ void embedding_backward_kernel(T* dtable, const T* dout, const int64_t* rows, const int64_t* starts,
                                          const int64_t* tokens, int64_t C) {
  const int64_t u = blockIdx.x, c = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0;
  for (int64_t t = starts[u]; t < starts[u + 1]; ++t) acc += to_f32(dout[tokens[t] * C + c]);
  T* d = dtable + rows[u] * C + c;
  *d = from_f32<T>(to_f32(*d) + acc);
}

}  // namespace

void embedding_forward(const EmbeddingParams& p) {
  const char* op = "embedding_forward";
  DOCBERT_CHECK(p.N >= 0 && p.V >= 0 && p.C >= 0, "{}: sizes must be >= 0, got N {} V {} C {}", op, p.N, p.V, p.C);
  if (p.N == 0 || p.C == 0) return;
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    auto run = [&](auto unit) {
      using Unit = decltype(unit);
      const int64_t row = p.C * static_cast<int64_t>(sizeof(T)) / static_cast<int64_t>(sizeof(Unit));
      embedding_forward_kernel<<<grid_1d(op, p.N * row, kBlock), kBlock, 0, stream()>>>(
          static_cast<Unit*>(p.out), static_cast<const Unit*>(p.table), p.ids, p.N, row);
    };
    if (p.C * sizeof(T) % 16 == 0 && aligned16(p.out) && aligned16(p.table))
      run(uint4{});
    else
      run(T{});
  });
  CUDA_CHECK_LAUNCH();
}

void embedding_backward(const EmbeddingParams& p) {
  const char* op = "embedding_backward";
  DOCBERT_CHECK(p.N >= 0 && p.C >= 0 && p.U >= 0 && p.U <= p.N, "{}: bad sizes N {} C {} U {}", op, p.N, p.C, p.U);
  if (!p.dtable || p.U == 0 || p.C == 0) return;
  DOCBERT_CHECK(p.rows && p.starts && p.tokens, "{}: the token lists are missing", op);
  const unsigned tiles = grid_1d(op, p.C, kColumnTile);
  DOCBERT_CHECK(tiles <= 65535 && p.U <= 0x7fffffff, "{}: too large for one launch: U {} C {}", op, p.U, p.C);
  dispatch_float(p.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const dim3 grid(static_cast<unsigned>(p.U), tiles);
    embedding_backward_kernel<<<grid, kColumnTile, 0, stream()>>>(
        static_cast<T*>(p.dtable), static_cast<const T*>(p.dout), p.rows, p.starts, p.tokens, p.C);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace docbert::cuda
