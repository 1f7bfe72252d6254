// engine/safetensors.h: a validating reader and an atomic writer of the safetensors format.
//
// Format (huggingface/safetensors README and src/tensor.rs): an 8-byte little-endian u64 N, then N bytes of
// UTF-8 JSON mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end)} plus an optional
// "__metadata__" string->string map, then one byte buffer. Offsets are relative to the start of that buffer;
// data is little-endian and row-major with no strides.
//
// The reader maps the file read-only and checks every rule of the reference implementation before anything
// is returned: header size (<= 100 MB, inside the file), UTF-8 JSON object, no duplicate names, exact keys,
// known dtypes, non-negative integer shapes, byte ranges that match shape x dtype size (overflow-checked), and
// ranges that tile the buffer exactly (sorted, no gaps, no overlaps, nothing missing or trailing). Every
// failure is a docbert::Error naming the file, the problem and, when there is one, the tensor.
#pragma once

#include "engine/parameters.h"
#include "engine/tensor.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace docbert {

// One tensor as it is in the file.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;   // as written in the file: "F32", "F16", "BF16", "I64", "U8", "F8_E4M3", ...
  Shape shape;         // () for a scalar; may contain 0 (an empty tensor)
  uint64_t begin = 0;  // byte range [begin, end) in the data buffer (after the header)
  uint64_t end = 0;
  const uint8_t* data = nullptr;  // the first byte, inside the mapping; valid while the SafetensorsFile lives
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates the header and the layout of the buffer (see the top of this file).
  // Throws docbert::Error naming the file and the problem.
  static SafetensorsFile open(const std::string& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();  // unmaps the file

  const std::string& path() const { return path_; }
  // Every tensor in file order (ascending data offset), including dtypes load() cannot convert.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  // The "__metadata__" map; empty when the file has none.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  // The entry named `name`; throws naming the file and the tensor when missing.
  const SafetensorsEntry& entry(const std::string& name) const;

  // Copies tensor `name` into a new CPU tensor of its own type: F32->f32, F64->f64, BF16->bf16, I64->i64,
  // I32->i32, and F16->f32 (exact: every f16 value, subnormals, infinities and NaN included, is an f32).
  // Other dtypes (I8, U8, BOOL, I16, U16, U32, U64, F8_*) throw an error naming the tensor and its dtype.
  Tensor load(const std::string& name) const;
  // Same, then converts to `want` (Tensor::to rules: float->int truncates, f32/f64->bf16 rounds to nearest
  // even). Converting with no loss is the caller's responsibility.
  Tensor load(const std::string& name, DType want) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;  // the whole file, PROT_READ; nullptr for an empty mapping
  size_t map_size_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;  // name -> position in entries_
  std::map<std::string, std::string> metadata_;
};

// Opens `path` and loads every tensor (load(name) for each); throws on any tensor load() cannot convert.
std::map<std::string, Tensor> load_safetensors(const std::string& path);

// How save_safetensors stores floating-point tensors (integer tensors are always stored as they are).
enum class SafetensorsFloat {
  Own,   // each tensor's own dtype: f32 -> F32, f64 -> F64, bf16 -> BF16
  F16,   // IEEE half, rounded once to nearest even; values beyond 65504 become +-inf
  BF16,  // bfloat16, rounded once to nearest even (from f64 too; bf16::from_double)
};

// Writes `tensors` (defined CPU tensors; unique, non-empty names other than "__metadata__") and `metadata` to
// `path`. The file is written to `path + ".tmp"`, fsync'ed and renamed over `path` (then the directory is
// fsync'ed), so `path` is either the old file or the complete new one, never a partial write; on failure the
// temporary is removed. Like the reference writer, the header is padded with spaces to a multiple of 8 bytes
// and tensors are laid out in the reference's dtype order descending (I64, F64, F32, I32, BF16, F16: element
// size descending), then by name, so every tensor is aligned to its element size. The JSON header lists "__metadata__"
// first (only when non-empty), then the tensors in that same order, compact, like the reference's serde_json output:
// the same tensors give byte-identical files (metadata keys are sorted here; the reference writes them in hash order).
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      SafetensorsFloat store_as = SafetensorsFloat::Own);

// IEEE binary16 <-> float conversions used for "F16" tensors. f16_to_float is exact for every input (NaN
// payloads are kept); f16_from_double rounds to nearest even (one rounding, also from f64), overflows to
// +-inf, keeps -0 and maps NaN to a quiet NaN of the same sign.
float f16_to_float(uint16_t h);
uint16_t f16_from_double(double x);

}  // namespace docbert
