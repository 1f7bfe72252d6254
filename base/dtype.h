// base/dtype.h: element types and devices a Tensor can have.
//
// Rules (docs/architecture.md): f32 is the working type; f64 exists on the CPU so gradient checks run in
// double; bf16 is a storage/transfer type (GPU matmul operands later), converted with round-to-nearest-even;
// i32/i64 hold ids, labels and lengths. CPU ops compute in f32 or f64 and reject the rest by name.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace docbert {

enum class DType : uint8_t { F32, F64, BF16, I32, I64 };
enum class Device : uint8_t { CPU, CUDA };

size_t dtype_size(DType t);
const char* dtype_name(DType t);    // "f32", "f64", "bf16", "i32", "i64"
const char* device_name(Device d);  // "cpu", "cuda"
bool dtype_is_float(DType t);       // f32, f64, bf16

// bfloat16 as raw bits; conversions from float and double round to nearest even (once) and keep NaN a NaN.
struct bf16 {
  uint16_t bits = 0;
  static bf16 from_float(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    bf16 r;
    if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep it quiet and non-zero
      r.bits = static_cast<uint16_t>((u >> 16) | 0x40u);
      return r;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    r.bits = static_cast<uint16_t>(u >> 16);
    return r;
  }
  // One rounding from double (not double -> float -> bf16, which rounds twice: 1 + 2^-8 + 2^-30 would become
  // 1). The double is first rounded to float *to odd* (truncate, then set the last bit when inexact); with
  // float's 24 bits >= bf16's 8 + 2, rounding that to nearest even gives the correctly rounded bf16. Values
  // beyond float's range truncate to FLT_MAX (odd), which rounds to inf, as it must.
  static bf16 from_double(double x) {
    if (std::isnan(x)) return from_float(static_cast<float>(x));
    float f = static_cast<float>(x);  // nearest (inf beyond float's range)
    if (static_cast<double>(f) != x) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      if (std::fabs(static_cast<double>(f)) > std::fabs(x)) --u;  // toward zero (sign-magnitude: inf -> FLT_MAX)
      u |= 1u;
      std::memcpy(&f, &u, 4);
    }
    return from_float(f);
  }
  float to_float() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

// Maps a C++ element type to its DType (used by Tensor::data<T>() to check the type).
template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::F64;
};
template <>
struct dtype_of<bf16> {
  static constexpr DType value = DType::BF16;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DType value = DType::I32;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::I64;
};

}  // namespace docbert
