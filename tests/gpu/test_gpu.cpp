// tests/gpu/test_gpu.cpp: the CUDA runtime and the kernels' own contracts. The ops' values are the op table's
// business (its GPU pass compares every op on CUDA with the CPU); here:
// - the caching allocator (no cudaMalloc once a step's shapes repeat; current and peak bytes), copies both ways,
//   fill / to(DType) / add_into on the device against the CPU's bits;
// - dropout masks bit-identical to the host's Philox words, and the dropout and GELU kernels' scalar paths on
//   pointers that are not 16-byte aligned (the op table's tensors always are);
// - [nodevice]: launcher argument checks that throw before any CUDA call, so they run without a device too.
// Sizes are the awkward ones (not multiples of the block or of Philox's 4 lanes) plus 768 x 512.
// tests/test_main.cpp is the device gate (DOCBERT_TEST_GPU=1 is set by CTest for this executable).
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/parameters.h"
#include "engine/random.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/philox.h"
#include "kernels/runtime.h"
#include "tests/op_table.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace docbert;
using docbert::test::bit_equal;

namespace {

#define GPU_SIZES GENERATE(as<int64_t>{}, 1, 3, 31, 33, 127, 513, 768 * 512)

Tensor host_uniform(int64_t N, double lo, double hi, uint64_t seed) {
  Tensor t = Tensor::empty({N});
  RngStream rng{seed};
  uniform_fill(t, lo, hi, rng);
  return t;
}

// The host's mask for (p, seed, offset): kernels/philox.h's convention, written out independently of the kernels.
std::vector<uint8_t> host_mask(int64_t N, float p, uint64_t seed, uint64_t offset) {
  std::vector<uint8_t> m(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) m[i] = philox_uniform(seed, offset, static_cast<uint64_t>(i)) >= p;
  return m;
}

// Seeds use both 32-bit key words; the large offset exercises the counter's high word.
constexpr uint64_t kSeed = 0x9E3779B97F4A7C15ull;

// One spare element in front: the kernels see base + 1, 4 bytes past a 16-byte boundary (the scalar path).
Tensor shifted_on_device(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  v.insert(v.begin(), 0.0f);
  return Tensor::from_vector(v, {t.numel() + 1}).to(Device::CUDA);
}
Tensor tail(const Tensor& dev) { return dev.to(Device::CPU).slice_rows(1, dev.numel()).clone(); }
float* plus1(Tensor& t) { return static_cast<float*>(t.raw_data()) + 1; }

}  // namespace

TEST_CASE("gpu allocator: a repeated step's shapes allocate from the cache", "[gpu][runtime]") {
  auto step = [] {
    std::vector<Tensor> ts;
    for (int64_t n : {1, 1000, 768 * 512, 3 * 768 * 512, 17})
      ts.push_back(Tensor::empty({n}, DType::F32, Device::CUDA));
    return ts;
  };
  step();  // warm the cache
  const cuda::MemoryStats before = cuda::memory_stats();
  for (int i = 0; i < 3; ++i) step();
  const cuda::MemoryStats after = cuda::memory_stats();
  CHECK(after.device_mallocs == before.device_mallocs);
  CHECK(after.current_bytes == before.current_bytes);
  cuda::reset_peak_memory();
  {
    Tensor big = Tensor::empty({1 << 22}, DType::F32, Device::CUDA);  // 16 MiB
    CHECK(cuda::memory_stats().peak_bytes >= cuda::memory_stats().current_bytes);
    CHECK(cuda::memory_stats().current_bytes >= before.current_bytes + (size_t(16) << 20));
  }
  CHECK(cuda::memory_stats().peak_bytes >= before.current_bytes + (size_t(16) << 20));
  CHECK(cuda::memory_stats().current_bytes == before.current_bytes);
}

TEST_CASE("gpu tensors: copies both ways, zeros, fill, to(dtype) and add_into match the cpu bit for bit",
          "[gpu][tensor]") {
  Tensor host = host_uniform(1001, -300, 300, 3);
  Tensor dev = host.to(Device::CUDA);
  CHECK(dev.device() == Device::CUDA);
  CHECK(bit_equal(dev.to(Device::CPU), host));
  CHECK(bit_equal(dev.clone().to(Device::CPU), host));
  CHECK(Tensor::zeros({3, 2}, DType::F64, Device::CUDA).to_vector<double>() == std::vector<double>(6, 0.0));
  for (DType t : {DType::F64, DType::BF16, DType::I32, DType::I64}) {
    INFO("to " << dtype_name(t));
    CHECK(bit_equal(dev.to(t).to(Device::CPU), host.to(t)));
    CHECK(bit_equal(dev.to(t).to(DType::F32).to(Device::CPU), host.to(t).to(DType::F32)));
  }
  for (DType t : {DType::F32, DType::BF16, DType::I64}) {
    INFO("fill " << dtype_name(t));
    CHECK(bit_equal(Tensor::full({37}, 1.0 / 3, t, Device::CUDA).to(Device::CPU), Tensor::full({37}, 1.0 / 3, t)));
  }
  Tensor acc = host_uniform(1001, -1, 1, 4), acc_d = acc.to(Device::CUDA);
  add_into(acc, host);
  add_into(acc_d, dev);
  CHECK(bit_equal(acc_d.to(Device::CPU), acc));
  CHECK_THROWS_WITH(dev.data<float>(), Catch::Contains("not on the cpu"));
  CHECK_THROWS_WITH(add_into(acc, dev), Catch::Contains("device mismatch"));
}

TEST_CASE("gpu dropout mask is bit-identical to the host's Philox words", "[gpu][dropout]") {
  const int64_t N = GPU_SIZES;
  const float p = GENERATE(0.0f, 0.1f, 0.5f);
  const uint64_t offset = GENERATE(as<uint64_t>{}, 0, 5, uint64_t(1) << 40);
  Tensor mask_d = Tensor::empty({N + 1}, DType::I32, Device::CUDA);  // bytes; +1 for the unaligned start below
  DropoutParams dp;
  dp.N = N;
  dp.p = p;
  dp.seed = kSeed;
  dp.offset = offset;
  const std::vector<uint8_t> want = host_mask(N, p, kSeed, offset);
  for (int shift : {0, 1}) {
    dp.mask = static_cast<uint8_t*>(mask_d.raw_data()) + shift;
    cuda::dropout_mask(dp);
    std::vector<uint8_t> got(static_cast<size_t>(N) + shift);
    cuda::copy_device_to_host(got.data(), mask_d.raw_data(), got.size());
    int64_t first_diff = -1;
    for (int64_t i = 0; i < N && first_diff < 0; ++i)
      if (got[i + shift] != want[i]) first_diff = i;
    INFO(fmt::format("N={} p={} offset={} shift={}: first differing element {}", N, p, offset, shift, first_diff));
    CHECK(first_diff == -1);
  }
}

TEST_CASE("gpu dropout and gelu on unaligned pointers equal the cpu op", "[gpu][dropout][gelu]") {
  const int64_t N = GENERATE(3, 33, 513);
  Tensor x = host_uniform(N, -4, 4, 31).set_requires_grad(true);
  Tensor dout = host_uniform(N, -1, 1, 32), acc = host_uniform(N, -1, 1, 33);
  Tensor x_d = shifted_on_device(x), dout_d = shifted_on_device(dout);

  // Dropout: bit-exact, the CPU's x.grad() started at zero, so acc + grad rounds as the kernel's dinp += ...
  Tensor y = dropout(x, 0.1, kSeed, 7, /*training=*/true);
  y.backward(dout);
  Tensor dinp_ref = acc.clone();
  add_into(dinp_ref, x.grad());
  Tensor y_d = shifted_on_device(y), dinp_d = shifted_on_device(acc);
  DropoutParams dp;
  dp.N = N;
  dp.p = 0.1f;
  dp.seed = kSeed;
  dp.offset = 7;
  dp.out = plus1(y_d);
  dp.inp = plus1(x_d);
  dp.dinp = plus1(dinp_d);
  dp.dout = plus1(dout_d);
  cuda::dropout_forward(dp);
  cuda::dropout_backward(dp);
  CHECK(bit_equal(tail(y_d), y));
  CHECK(bit_equal(tail(dinp_d), dinp_ref));

  // GELU: within the op table's tolerance for the elementwise family (erff on the device vs glibc's).
  x.zero_grad();
  Tensor g = gelu(x);
  g.backward(dout);
  Tensor gelu_grad_ref = acc.clone();
  add_into(gelu_grad_ref, x.grad());
  Tensor g_d = shifted_on_device(g), gdinp_d = shifted_on_device(acc);
  UnaryParams up;
  up.op = UnaryOp::GeluErf;
  up.N = N;
  up.out = plus1(g_d);
  up.inp = plus1(x_d);
  up.dinp = plus1(gdinp_d);
  up.dout = plus1(dout_d);
  cuda::unary_forward(up);
  cuda::unary_backward(up);
  test::check_close(tail(g_d), g, 1e-5, test::Tol::Relative, "unaligned gelu forward");
  test::check_close(tail(gdinp_d), gelu_grad_ref, 1e-5, test::Tol::Relative, "unaligned gelu backward");
}

// [nodevice]: every check here throws (or returns, for N == 0) before the first CUDA call.
TEST_CASE("gpu launchers reject bad arguments with the op name", "[gpu][errors][nodevice]") {
  UnaryParams up;
  up.N = -1;
  CHECK_THROWS_WITH(cuda::unary_forward(up), Catch::Contains("unary_forward: N must be >= 0"));
  CHECK_THROWS_WITH(cuda::unary_backward(up), Catch::Contains("unary_backward: N must be >= 0"));
  DropoutParams dp;
  dp.N = 4;
  dp.p = 1.0f;
  CHECK_THROWS_WITH(cuda::dropout_forward(dp), Catch::Contains("dropout_forward: p must be in [0, 1)"));
  dp.p = -0.1f;
  CHECK_THROWS_WITH(cuda::dropout_backward(dp), Catch::Contains("dropout_backward: p must be in [0, 1)"));
  dp.N = -5;
  dp.p = 0.5f;
  CHECK_THROWS_WITH(cuda::dropout_mask(dp), Catch::Contains("dropout_mask: N must be >= 0"));
  dp.dtype = DType::F64;
  CHECK_THROWS_WITH(cuda::dropout_forward(dp), Catch::Contains("not supported on cuda"));
  // N == 0 launches nothing (a zero-block launch would be a CUDA error).
  up.N = 0;
  CHECK_NOTHROW(cuda::unary_backward(up));
  dp.N = 0;
  dp.dtype = DType::F32;
  CHECK_NOTHROW(cuda::dropout_mask(dp));
}

// gridDim.x is at most 2^31 - 1 blocks (of 256 threads): 4 elements per thread for both. INT64_MAX checks that
// the block count is computed without overflow.
TEST_CASE("gpu launchers reject N too large for one launch", "[gpu][errors][nodevice]") {
  const int64_t n =
      GENERATE(as<int64_t>{}, int64_t(1) << 43, int64_t(0x7fffffff) * 1024 + 1, std::numeric_limits<int64_t>::max());
  UnaryParams up;
  up.N = n;
  CHECK_THROWS_WITH(cuda::unary_forward(up), Catch::Contains("unary_forward: too large for one launch"));
  CHECK_THROWS_WITH(cuda::unary_backward(up), Catch::Contains("unary_backward: too large for one launch"));
  DropoutParams dp;
  dp.N = n;
  dp.p = 0.1f;
  CHECK_THROWS_WITH(cuda::dropout_forward(dp), Catch::Contains("dropout_forward: too large for one launch"));
  CHECK_THROWS_WITH(cuda::dropout_mask(dp), Catch::Contains("dropout_mask: too large for one launch"));
}

TEST_CASE("gpu parameters move to the device in place and back", "[gpu][parameters]") {
  ParameterRegistry reg;
  Tensor w = reg.add("w", host_uniform(33, -1, 1, 41));
  const Tensor host = w.clone();
  reg.to(Device::CUDA);
  CHECK(reg.device() == Device::CUDA);
  CHECK(w.device() == Device::CUDA);  // the handle the "model" kept
  CHECK(w.requires_grad());
  CHECK(bit_equal(w.to(Device::CPU), host));
  reg.to(Device::CPU);
  CHECK(w.is_cpu());
  CHECK(bit_equal(w, host));
}
