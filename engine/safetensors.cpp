#include "engine/safetensors.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <utility>

namespace docbert {

// The format is little-endian; so is every machine docbert targets (x86-64, aarch64), so bytes are copied as is.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace {

using ordered_json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's MAX_HEADER_SIZE

// Every dtype of the reference implementation, in its enum order: the writer sorts by this order descending,
// which groups tensors by element size (largest first). Sizes are in bits because F4 and F6 pack elements.
// `own` is the docbert dtype with the same bytes (loaded and written by memcpy); F16 has none (loaded as f32).
struct DTypeInfo {
  const char* name;
  uint64_t bits;
  std::optional<DType> own;
};
constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 8, {}},         {"F4", 4, {}},      {"F6_E2M3", 6, {}},        {"F6_E3M2", 6, {}},      {"U8", 8, {}},
    {"I8", 8, {}},           {"F8_E5M2", 8, {}}, {"F8_E4M3", 8, {}},        {"F8_E8M0", 8, {}},      {"I16", 16, {}},
    {"U16", 16, {}},         {"F16", 16, {}},    {"BF16", 16, DType::BF16}, {"I32", 32, DType::I32}, {"U32", 32, {}},
    {"F32", 32, DType::F32}, {"C64", 64, {}},    {"F64", 64, DType::F64},   {"I64", 64, DType::I64}, {"U64", 64, {}},
};

// Position of `name` in kDTypes, or -1.
int dtype_rank(const std::string& name) {
  for (size_t i = 0; i < std::size(kDTypes); ++i)
    if (name == kDTypes[i].name) return static_cast<int>(i);
  return -1;
}

// Position in kDTypes of the file dtype that holds docbert dtype `t` as is.
int dtype_rank(DType t) {
  for (size_t i = 0; i < std::size(kDTypes); ++i)
    if (kDTypes[i].own == t) return static_cast<int>(i);
  DOCBERT_THROW("safetensors: dtype {} has no file dtype", dtype_name(t));
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. Returns the offset of the first
// bad byte, or n when all is valid.
size_t first_invalid_utf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07u;
    } else
      return i;
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += len;
  }
  return n;
}

// JSON numbers that are non-negative integers arrive as number_unsigned (negatives are number_integer,
// anything with a fraction or exponent, or beyond 2^64, is number_float).
bool is_uint(const ordered_json& j) { return j.is_number_unsigned(); }

std::string errno_str() { return std::strerror(errno); }

}  // namespace

// ---------------------------------------------------------------------------------------------------
// f16 <-> float

float f16_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, or NaN with its payload (the quiet bit lands on f32's)
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else {
    // Zero or subnormal: mant * 2^-24, exact in f32 (whose normal range reaches 2^-126).
    float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f16_from_double(double x) {
  uint64_t u;
  std::memcpy(&u, &x, 8);
  auto sign = static_cast<uint16_t>((u >> 48) & 0x8000u);
  auto exp = static_cast<int>((u >> 52) & 0x7ffu);
  uint64_t mant = u & ((uint64_t{1} << 52) - 1);
  if (exp == 0x7ff) return static_cast<uint16_t>(sign | (mant ? 0x7e00u : 0x7c00u));
  if (exp == 0) return sign;  // f64 zero or subnormal (< 2^-1022): far below half of f16's 2^-24
  int e = exp - 1023;         // x = m * 2^(e-52) with m the 53-bit significand
  if (e > 15) return static_cast<uint16_t>(sign | 0x7c00u);
  uint64_t m = mant | (uint64_t{1} << 52);
  // Keep 11 significant bits for a normal result; for a subnormal result, count in units of 2^-24.
  int shift = e >= -14 ? 42 : 42 + (-14 - e);
  if (shift >= 54) return sign;  // below 2^-25: rounds to zero (m < 2^53, so never exactly halfway)
  uint64_t q = m >> shift;
  uint64_t rem = m & ((uint64_t{1} << shift) - 1);
  uint64_t half = uint64_t{1} << (shift - 1);
  if (rem > half || (rem == half && (q & 1))) ++q;  // round to nearest, ties to even
  // A normal result is ((e+15) << 10) + (q - 1024): a rounding carry (q == 2048) bumps the exponent, and past
  // the largest exponent that gives exactly 0x7c00 (inf). A subnormal q of 1024 is the smallest normal.
  uint64_t r = e >= -14 ? (static_cast<uint64_t>(e + 15) << 10) + (q - 1024) : q;
  return static_cast<uint16_t>(sign | std::min<uint64_t>(r, 0x7c00u));
}

// ---------------------------------------------------------------------------------------------------
// reader

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this == &o) return *this;
  if (map_) munmap(map_, map_size_);
  path_ = std::move(o.path_);
  map_ = o.map_;
  map_size_ = o.map_size_;
  entries_ = std::move(o.entries_);
  index_ = std::move(o.index_);
  metadata_ = std::move(o.metadata_);
  o.map_ = nullptr;
  o.map_size_ = 0;
  return *this;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(map_, map_size_);
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  const char* p = path.c_str();

  int fd = ::open(p, O_RDONLY | O_CLOEXEC);
  DOCBERT_CHECK(fd >= 0, "safetensors file '{}': cannot open: {}", path, errno_str());
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    DOCBERT_THROW("safetensors file '{}': not a regular file", path);
  }
  auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    DOCBERT_THROW("safetensors file '{}': the file is {} bytes, shorter than 8 bytes (the header length)", path,
                  file_size);
  }
  void* m = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file open
  DOCBERT_CHECK(m != MAP_FAILED, "safetensors file '{}': mmap failed: {}", path, errno_str());
  f.map_ = m;
  f.map_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(m);

  // ---- header ----
  uint64_t n;
  std::memcpy(&n, bytes, 8);
  DOCBERT_CHECK(n <= kMaxHeaderBytes, "safetensors file '{}': header length {} exceeds the 100 MB limit", path, n);
  DOCBERT_CHECK(n <= file_size - 8, "safetensors file '{}': header length {} runs past the end of the file ({} bytes)",
                path, n, file_size);
  const uint8_t* header = bytes + 8;
  size_t bad = first_invalid_utf8(header, n);
  DOCBERT_CHECK(bad == n, "safetensors file '{}': header is not valid UTF-8 (byte {} of the header)", path, bad);
  // A header that starts with '{' and parses is a JSON object (leading whitespace is refused here, as upstream).
  DOCBERT_CHECK(n > 0 && header[0] == '{', "safetensors file '{}': header does not start with '{{'", path);

  // nlohmann keeps the last of duplicate keys silently; the parse callback sees every key, so track the keys
  // of each open object and remember the first repeat.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  size_t duplicate_depth = 0;
  auto on_event = [&](int, ordered_json::parse_event_t event, ordered_json& parsed) {
    if (event == ordered_json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == ordered_json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == ordered_json::parse_event_t::key && duplicate.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) {
        duplicate = key;
        duplicate_depth = open_objects.size();
      }
    }
    return true;
  };
  ordered_json j;
  try {
    j = ordered_json::parse(header, header + n, on_event);
  } catch (const nlohmann::json::exception& e) {
    DOCBERT_THROW("safetensors file '{}': header is not valid JSON ({})", path, e.what());
  }
  DOCBERT_CHECK(duplicate.empty(), "safetensors file '{}': duplicate {} '{}' in the header", path,
                duplicate_depth == 1 ? "tensor name" : "key", duplicate);

  // ---- entries ----
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      DOCBERT_CHECK(v.is_object(), "safetensors file '{}': __metadata__ is not an object of strings", path);
      for (const auto& [k, s] : v.items()) {
        DOCBERT_CHECK(s.is_string(), "safetensors file '{}': __metadata__ value for '{}' is not a string ({})", path, k,
                      s.type_name());
        f.metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    const std::string& tensor = name;  // a lambda may not capture a structured binding before C++20 (clang)
    auto fail = [&](const std::string& what) {
      DOCBERT_THROW("safetensors file '{}': tensor '{}': {}", path, tensor, what);
    };
    if (!v.is_object()) fail("entry is not a JSON object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!v.contains(key)) fail(fmt::format("missing key '{}'", key));
    for (const auto& kv : v.items())
      if (kv.key() != "dtype" && kv.key() != "shape" && kv.key() != "data_offsets")
        fail(fmt::format("unexpected key '{}'", kv.key()));

    SafetensorsEntry e;
    e.name = name;
    const ordered_json& dt = v["dtype"];
    if (!dt.is_string()) fail("dtype is not a string");
    e.dtype = dt.get<std::string>();
    int rank = dtype_rank(e.dtype);
    if (rank < 0) fail(fmt::format("unknown dtype '{}'", e.dtype));

    const ordered_json& shape = v["shape"];
    if (!shape.is_array() || !std::all_of(shape.begin(), shape.end(), is_uint))
      fail(fmt::format("shape must be a list of non-negative integers, got {}", shape.dump()));
    // Element count and byte size with every partial product checked, as the reference does (so a shape
    // like (2^40, 2^40, 0) is rejected too); the count must also fit the int64 Shape.
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : shape) {
      auto dim = d.get<uint64_t>();
      overflow = overflow || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                 __builtin_mul_overflow(numel, dim, &numel) ||
                 numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t nbits = 0;
    overflow = overflow || __builtin_mul_overflow(numel, kDTypes[rank].bits, &nbits);
    if (overflow) fail(fmt::format("shape {} times the {} element size overflows", shape.dump(), e.dtype));
    if (nbits % 8 != 0) fail(fmt::format("shape {} of {} is not a whole number of bytes", shape.dump(), e.dtype));

    const ordered_json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !is_uint(off[0]) || !is_uint(off[1]))
      fail(fmt::format("data_offsets must be two non-negative integers, got {}", off.dump()));
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end) fail(fmt::format("data_offsets [{}, {}] has begin > end", e.begin, e.end));
    if (e.end - e.begin != nbits / 8)
      fail(fmt::format("data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}", e.begin, e.end,
                       e.end - e.begin, shape_str(e.shape), e.dtype, nbits / 8));
    f.entries_.push_back(std::move(e));
  }

  // ---- layout: the byte ranges, sorted by offset, must tile the buffer exactly ----
  std::stable_sort(f.entries_.begin(), f.entries_.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t buffer_size = file_size - 8 - n;
  uint64_t expected = 0;
  for (const SafetensorsEntry& e : f.entries_) {
    DOCBERT_CHECK(e.begin >= expected,
                  "safetensors file '{}': tensor '{}' (bytes [{}, {})) overlaps the previous "
                  "tensor, which ends at {}",
                  path, e.name, e.begin, e.end, expected);
    DOCBERT_CHECK(e.begin == expected, "safetensors file '{}': gap of {} bytes before tensor '{}' (bytes [{}, {}))",
                  path, e.begin - expected, e.name, e.begin, e.end);
    expected = e.end;
  }
  DOCBERT_CHECK(expected <= buffer_size,
                "safetensors file '{}': data buffer is truncated: the tensors need {} bytes, "
                "the file has {}",
                path, expected, buffer_size);
  DOCBERT_CHECK(expected == buffer_size, "safetensors file '{}': {} trailing bytes after the last tensor", path,
                buffer_size - expected);

  const uint8_t* buffer = header + n;
  for (size_t i = 0; i < f.entries_.size(); ++i) {
    f.entries_[i].data = buffer + f.entries_[i].begin;
    f.index_[f.entries_[i].name] = i;
  }
  return f;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  DOCBERT_CHECK(it != index_.end(), "safetensors file '{}': no tensor '{}' ({} tensors)", path_, name, entries_.size());
  return entries_[it->second];
}

Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const DTypeInfo& info = kDTypes[dtype_rank(e.dtype)];  // open() accepted only known dtypes
  if (info.own) {
    Tensor out = Tensor::empty(e.shape, *info.own);
    if (e.nbytes()) std::memcpy(out.raw_data(), e.data, e.nbytes());
    return out;
  }
  if (e.dtype == "F16") {
    Tensor t = Tensor::empty(e.shape, DType::F32);
    float* out = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint16_t h;
      std::memcpy(&h, e.data + 2 * i, 2);  // the buffer may be unaligned
      out[i] = f16_to_float(h);
    }
    return t;
  }
  DOCBERT_THROW(
      "safetensors file '{}': tensor '{}' has dtype {}, which docbert cannot load (it loads F32, F64, "
      "F16, BF16, I64 and I32)",
      path_, name, e.dtype);
}

Tensor SafetensorsFile::load(const std::string& name, DType want) const {
  Tensor t = load(name);
  return t.dtype() == want ? t : t.to(want);
}

std::map<std::string, Tensor> load_safetensors(const std::string& path) {
  SafetensorsFile f = SafetensorsFile::open(path);
  std::map<std::string, Tensor> out;
  for (const SafetensorsEntry& e : f.entries()) out.emplace(e.name, f.load(e.name));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// writer

namespace {

// Writes all of [p, p+n) to fd, retrying short writes and EINTR.
bool write_all(int fd, const void* p, size_t n) {
  const auto* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// A tensor to write, with the position of its file dtype in kDTypes.
struct Planned {
  const std::string* name;
  const Tensor* tensor;
  int rank;
};

// The temporary file being written: closed, and removed unless keep() was called, however the writer exits.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    keep_ = fd_ < 0;  // nothing of ours to remove
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!keep_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  // Closes the descriptor now (reporting close's result); the destructor then only unlinks.
  bool close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0;
  }
  void keep() { keep_ = true; }  // after the rename: the path no longer names our file

 private:
  std::string path_;
  int fd_ = -1;
  bool keep_ = false;
};

// Elements of a float tensor (f32, f64 or bf16) as F16 or BF16 bits, each rounded once from its own value.
std::vector<uint16_t> to_half_bits(const Tensor& t, bool f16) {
  std::vector<uint16_t> out(static_cast<size_t>(t.numel()));
  auto convert = [&](const auto* src, auto as_double) {
    for (size_t i = 0; i < out.size(); ++i) {
      const double x = as_double(src[i]);
      out[i] = f16 ? f16_from_double(x) : bf16::from_double(x).bits;
    }
  };
  if (t.dtype() == DType::BF16)
    convert(t.data<bf16>(), [](bf16 b) { return static_cast<double>(b.to_float()); });
  else
    dispatch_float(t.dtype(), "save_safetensors", [&](auto tag) {
      using T = decltype(tag);
      convert(t.data<T>(), [](T v) { return static_cast<double>(v); });
    });
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata, SafetensorsFloat store_as) {
  std::vector<Planned> plan;
  std::set<std::string> names;
  for (const NamedTensor& nt : tensors) {
    DOCBERT_CHECK(!nt.name.empty() && nt.name != "__metadata__", "save_safetensors '{}': invalid tensor name '{}'",
                  path, nt.name);
    DOCBERT_CHECK(names.insert(nt.name).second, "save_safetensors '{}': duplicate tensor name '{}'", path, nt.name);
    DOCBERT_CHECK(nt.tensor.defined(), "save_safetensors '{}': tensor '{}' is undefined", path, nt.name);
    DOCBERT_CHECK(nt.tensor.is_cpu(), "save_safetensors '{}': tensor '{}' is {}; move it to the CPU first", path,
                  nt.name, nt.tensor.describe());
    int rank = dtype_rank(nt.tensor.dtype());
    if (dtype_is_float(nt.tensor.dtype()) && store_as == SafetensorsFloat::F16) rank = dtype_rank("F16");
    if (dtype_is_float(nt.tensor.dtype()) && store_as == SafetensorsFloat::BF16) rank = dtype_rank("BF16");
    plan.push_back({&nt.name, &nt.tensor, rank});
  }
  // The reference writer's order: dtype enum order descending (largest elements first), then name.
  std::sort(plan.begin(), plan.end(),
            [](const Planned& a, const Planned& b) { return a.rank != b.rank ? a.rank > b.rank : *a.name < *b.name; });

  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json m = ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (const Planned& p : plan) {
    uint64_t nbytes = static_cast<uint64_t>(p.tensor->numel()) * kDTypes[p.rank].bits / 8;
    ordered_json e = ordered_json::object();
    e["dtype"] = kDTypes[p.rank].name;
    e["shape"] = p.tensor->shape();
    e["data_offsets"] = {offset, offset + nbytes};
    header[*p.name] = e;
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    DOCBERT_THROW("save_safetensors '{}': tensor names and metadata must be valid UTF-8 ({})", path, e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // so the buffer starts 8-byte aligned, as the reference pads
  uint64_t n = text.size();

  const std::string tmp = path + ".tmp";
  TempFile file(tmp);  // closes and removes the temporary on every exit, exceptions included
  DOCBERT_CHECK(file.fd() >= 0, "save_safetensors '{}': cannot create '{}': {}", path, tmp, errno_str());
  auto fail = [&](const char* what) {
    DOCBERT_THROW("save_safetensors '{}': {} '{}': {}", path, what, tmp, errno_str());
  };
  if (!write_all(file.fd(), &n, 8) || !write_all(file.fd(), text.data(), text.size())) fail("cannot write");
  for (const Planned& p : plan) {
    const Tensor& t = *p.tensor;
    if (kDTypes[p.rank].own == t.dtype()) {
      if (!write_all(file.fd(), t.raw_data(), t.nbytes())) fail("cannot write");
    } else {
      std::vector<uint16_t> h = to_half_bits(t, /*f16=*/p.rank == dtype_rank("F16"));
      if (!write_all(file.fd(), h.data(), 2 * h.size())) fail("cannot write");
    }
  }
  if (::fsync(file.fd()) != 0) fail("cannot fsync");
  if (!file.close()) fail("cannot close");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename");
  file.keep();
  // Persist the rename itself: fsync the directory that holds `path` (best effort; some filesystems refuse).
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace docbert
