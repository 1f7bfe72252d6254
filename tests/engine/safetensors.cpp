// safetensors reader/writer: round trips, the exact bytes of a known file, atomic replacement, f16
// conversion, and the reader's refusal of corrupt files (each mutation of a valid file must throw
// docbert::Error with a specific phrase, never crash).
#include "engine/safetensors.h"
#include "engine/random.h"
#include "tests/op_table.h"

#include <catch2/catch.hpp>

#include "tests/test_support.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

using namespace docbert;
namespace fs = std::filesystem;

namespace {

using docbert::test::ScratchDir;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A file by hand: the 8-byte little-endian header length, the header text, then the data buffer.
std::string file_bytes(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed) {
  Tensor t = Tensor::empty(shape, DType::F64);
  RngStream rng{seed};
  normal_fill(t, 0.0, 3.0, rng);
  return t.to(dtype);
}

}  // namespace

TEST_CASE("safetensors: round trip of every loadable dtype, a scalar, an empty tensor and metadata", "[safetensors]") {
  ScratchDir tmp;
  std::string path = tmp.file("model.safetensors");
  std::vector<NamedTensor> in = {
      {"encoder.weight", random_tensor({3, 31}, DType::F32, 1)},
      {"encoder.bias", random_tensor({31}, DType::F32, 2)},
      {"double", random_tensor({5}, DType::F64, 3)},
      {"half_store", random_tensor({2, 3}, DType::BF16, 4)},
      {"ids", Tensor::from_vector<int64_t>({-3, 0, 1LL << 40, 7}, {4})},
      {"lengths", Tensor::from_vector<int32_t>({-1, 2, 2147483647, 0}, {2, 2})},
      {"step", Tensor::scalar(12.5)},
      {"nothing", Tensor::empty({0, 3})},
  };
  std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\"\n"}};
  save_safetensors(path, in, meta);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  // The header is padded to 8 bytes, so the data buffer starts aligned.
  uint64_t header_len;
  std::memcpy(&header_len, read_bytes(path).data(), 8);
  CHECK(header_len % 8 == 0);

  SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.metadata() == meta);
  // File order: dtype (reference enum order) descending, then name.
  std::vector<std::string> order, dtypes;
  for (const SafetensorsEntry& e : f.entries()) {
    order.push_back(e.name);
    dtypes.push_back(e.dtype);
  }
  CHECK(order == std::vector<std::string>{"ids", "double", "encoder.bias", "encoder.weight", "nothing", "step",
                                          "lengths", "half_store"});
  CHECK(dtypes == std::vector<std::string>{"I64", "F64", "F32", "F32", "F32", "F32", "I32", "BF16"});
  for (const NamedTensor& nt : in) {
    INFO(nt.name);
    REQUIRE(f.contains(nt.name));
    CHECK(test::bit_equal(f.load(nt.name), nt.tensor));
  }
  CHECK(f.entry("step").shape.empty());
  CHECK(f.entry("nothing").nbytes() == 0);
  CHECK(f.load("ids", DType::F64).to_vector<double>()[2] == 1099511627776.0);
  CHECK_FALSE(f.contains("missing"));
  CHECK_THROWS_WITH(f.load("missing"), Catch::Contains("no tensor 'missing'") && Catch::Contains(path));

  // The handle can be moved; the moved-to file keeps its mapping.
  SafetensorsFile g = std::move(f);
  CHECK(test::bit_equal(g.load("double"), in[2].tensor));

  auto all = load_safetensors(path);
  CHECK(all.size() == in.size());
  CHECK(test::bit_equal(all.at("lengths"), in[5].tensor));
}

TEST_CASE("safetensors: f16 conversion is exact where it must be and rounds to nearest even", "[safetensors]") {
  // Every f16 value survives f16 -> float -> f16 (NaNs stay NaN).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_float(static_cast<uint16_t>(h));
    bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
    if (nan) {
      CHECK(std::isnan(f));
      CHECK(std::isnan(f16_to_float(f16_from_double(f))));
    } else if (f16_from_double(f) != h) {
      FAIL("f16 0x" << std::hex << h << " does not round trip");
    }
  }
  CHECK(f16_to_float(0x3c00) == 1.0f);
  CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));     // smallest subnormal
  CHECK(f16_to_float(0x03ff) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(f16_to_float(0x0400) == std::ldexp(1.0f, -14));     // smallest normal
  CHECK(f16_to_float(0x7bff) == 65504.0f);
  CHECK(f16_to_float(0xfc00) == -std::numeric_limits<float>::infinity());
  CHECK(std::signbit(f16_to_float(0x8000)));
  // Rounding: ties go to the even neighbour; beyond 65520 is inf; half the smallest subnormal is 0.
  CHECK(f16_from_double(1.0 + std::ldexp(1.0, -11)) == 0x3c00);
  CHECK(f16_from_double(1.0 + 3 * std::ldexp(1.0, -11)) == 0x3c02);
  CHECK(f16_from_double(65519.99) == 0x7bff);
  CHECK(f16_from_double(65520.0) == 0x7c00);
  CHECK(f16_from_double(-1e300) == 0xfc00);
  CHECK(f16_from_double(std::ldexp(1.0, -25)) == 0x0000);
  CHECK(f16_from_double(std::ldexp(1.5, -25)) == 0x0001);
  CHECK(f16_from_double(std::ldexp(1023.5, -24)) == 0x0400);  // largest subnormal rounds up to the smallest normal
  CHECK(f16_from_double(-0.0) == 0x8000);
  CHECK(f16_from_double(1e-300) == 0x0000);
  CHECK((f16_from_double(std::nan("")) & 0x7e00u) == 0x7e00u);
  // One rounding from f64: 1 + 2^-11 + 2^-40 is just above the tie, so it rounds up (f32 would cut the 2^-40).
  CHECK(f16_from_double(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)) == 0x3c01);
}

TEST_CASE("safetensors: writing floats as F16 or BF16", "[safetensors]") {
  ScratchDir tmp;
  std::string path = tmp.file("half.safetensors");
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {1.0f,
                          -0.0f,
                          65504.0f,
                          inf,
                          -inf,
                          std::ldexp(1.0f, -24),
                          std::ldexp(3.0f, -24),
                          std::ldexp(1.0f, -14),
                          0.333251953125f,
                          1e6f,
                          std::ldexp(1.0f, -26)};
  std::vector<float> want = {1.0f,
                             -0.0f,
                             65504.0f,
                             inf,
                             -inf,
                             std::ldexp(1.0f, -24),
                             std::ldexp(3.0f, -24),
                             std::ldexp(1.0f, -14),
                             0.333251953125f,
                             inf,
                             0.0f};
  Tensor x = Tensor::from_vector(v, {11});
  Tensor x64 = x.to(DType::F64);
  Tensor ids = Tensor::from_vector<int32_t>({5, 6}, {2});
  save_safetensors(path, {{"x", x}, {"x64", x64}, {"ids", ids}}, {}, SafetensorsFloat::F16);
  SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.entry("x").dtype == "F16");
  CHECK(f.entry("x64").dtype == "F16");
  CHECK(f.entry("ids").dtype == "I32");  // integers keep their type
  CHECK(f.entry("x").nbytes() == 22);
  for (const char* name : {"x", "x64"}) {
    Tensor back = f.load(name);
    REQUIRE(back.dtype() == DType::F32);
    std::vector<float> got = back.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      INFO(name << "[" << i << "]");
      CHECK(got[i] == want[i]);
      CHECK(std::signbit(got[i]) == std::signbit(want[i]));
    }
  }
  CHECK(f.load("x", DType::F64).dtype() == DType::F64);
  CHECK(test::bit_equal(f.load("ids"), ids));

  save_safetensors(path, {{"x", x}}, {}, SafetensorsFloat::BF16);
  SafetensorsFile g = SafetensorsFile::open(path);
  CHECK(g.entry("x").dtype == "BF16");
  CHECK(test::bit_equal(g.load("x"), x.to(DType::BF16)));

  // f64 to BF16 rounds once: 1 + 2^-8 + 2^-30 is just above the tie between 1 and 1 + 2^-7, so it rounds up
  // (through f32 it would become the tie 1 + 2^-8 and round to even, 1). Huge values become inf, NaN stays NaN.
  const double above_tie = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30);
  Tensor y = Tensor::from_vector<double>({above_tie, -above_tie, 1e300, std::nan("")}, {4});
  Tensor yb = Tensor::from_vector<bf16>({bf16{0x3f81}, bf16{0xbf81}, bf16{0x7f80}, bf16{0x7fc0}}, {4});
  save_safetensors(path, {{"y", y}, {"yb", yb}}, {}, SafetensorsFloat::BF16);
  SafetensorsFile h = SafetensorsFile::open(path);
  CHECK(h.entry("y").dtype == "BF16");
  Tensor got = h.load("y");
  REQUIRE(got.dtype() == DType::BF16);
  const bf16* bits = got.data<bf16>();
  CHECK(bits[0].bits == 0x3f81);  // 1.0078125
  CHECK(bits[1].bits == 0xbf81);
  CHECK(bits[2].bits == 0x7f80);  // +inf
  CHECK(std::isnan(bits[3].to_float()));
  CHECK(test::bit_equal(h.load("yb"), yb));  // bf16 stays as it is
  // bf16 tensors can be written as F16 too (each value is rounded once).
  save_safetensors(path, {{"yb", yb}}, {}, SafetensorsFloat::F16);
  std::vector<float> as_f16 = SafetensorsFile::open(path).load("yb").to_vector<float>();
  CHECK(as_f16[0] == 1.0078125f);
  CHECK(as_f16[1] == -1.0078125f);
  CHECK(std::isinf(as_f16[2]));
  CHECK(std::isnan(as_f16[3]));
}

TEST_CASE("safetensors: the writer produces the reference implementation's exact bytes", "[safetensors]") {
  ScratchDir tmp;
  std::string path = tmp.file("known.safetensors");
  // The reference implementation's test "test_serialization_forced_alignement": 65 bytes of JSON padded with
  // 7 spaces to 72, then six f32 values.
  std::string json = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
  REQUIRE(json.size() == 65);
  std::string want = u64_le(72) + json + std::string(7, ' ') + raw(std::vector<float>{0, 1, 2, 3, 4, 5});
  save_safetensors(path, {{"attn0", Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {1, 1, 2, 3})}});
  CHECK(read_bytes(path) == want);

  // No tensors, only metadata (the reference "test_empty"): "__metadata__" comes first.
  std::string meta_json = R"({"__metadata__":{"framework":"pt"}})";
  save_safetensors(path, {}, {{"framework", "pt"}});
  CHECK(read_bytes(path) == u64_le(40) + meta_json + std::string(40 - meta_json.size(), ' '));
  save_safetensors(path, {});
  CHECK(read_bytes(path) == u64_le(8) + "{}      ");

  // Mixed dtypes: I64 before F32 before BF16; the header lists tensors in data order.
  save_safetensors(path, {{"w", Tensor::from_vector<bf16>({bf16::from_float(1.0f)}, {1})},
                          {"b", Tensor::from_vector<float>({2.0f}, {1})},
                          {"a", Tensor::from_vector<int64_t>({3}, {1})}});
  std::string mixed = R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                      R"("w":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]}})";
  std::string pad((8 - mixed.size() % 8) % 8, ' ');
  CHECK(read_bytes(path) == file_bytes(mixed + pad, raw(std::vector<int64_t>{3}) + raw(std::vector<float>{2.0f}) +
                                                        raw(std::vector<uint16_t>{0x3f80})));

  // The reader takes any key order, an unpadded header, empty tensors sharing an offset, and dtypes it
  // cannot load (listed, refused by load()).
  std::string other = R"({"z":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("e2":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},)"
                      R"("e1":{"dtype":"I64","shape":[3,0],"data_offsets":[8,8]},)"
                      R"("a":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},)"
                      R"("q":{"dtype":"F4","shape":[2,3],"data_offsets":[11,14]}})";
  write_bytes(path, file_bytes(other, raw(std::vector<float>{1.5f, -2.0f}) + "abc" + "xyz"));
  SafetensorsFile f = SafetensorsFile::open(path);
  std::vector<std::string> names;
  for (const SafetensorsEntry& e : f.entries()) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"z", "e2", "e1", "a", "q"});
  CHECK(f.load("z").to_vector<float>() == std::vector<float>{1.5f, -2.0f});
  CHECK(f.load("e1").shape() == Shape{3, 0});
  CHECK(std::string(reinterpret_cast<const char*>(f.entry("a").data), 3) == "abc");
  CHECK_THROWS_WITH(f.load("a"), Catch::Contains("tensor 'a' has dtype U8, which docbert cannot load"));
  CHECK_THROWS_WITH(f.load("q", DType::F32), Catch::Contains("dtype F4"));
}

TEST_CASE("safetensors: writes are atomic and checked", "[safetensors]") {
  ScratchDir tmp;
  std::string path = tmp.file("ckpt.safetensors");
  Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3});
  save_safetensors(path, {{"a", a}});
  std::string first = read_bytes(path);
  save_safetensors(path, {{"a", a}, {"b", Tensor::from_vector<float>({4}, {1})}});  // replaces the file
  CHECK(read_bytes(path) != first);
  CHECK(load_safetensors(path).size() == 2);
  CHECK_FALSE(fs::exists(path + ".tmp"));

  // Refused inputs leave the existing file as it was and no temporary behind.
  std::string before = read_bytes(path);
  CHECK_THROWS_WITH(save_safetensors(path, {{"a", a}, {"a", a}}), Catch::Contains("duplicate tensor name 'a'"));
  CHECK_THROWS_WITH(save_safetensors(path, {{"__metadata__", a}}), Catch::Contains("invalid tensor name"));
  CHECK_THROWS_WITH(save_safetensors(path, {{"u", Tensor()}}), Catch::Contains("tensor 'u' is undefined"));
  CHECK_THROWS_WITH(save_safetensors(path, {{"bad\xff", a}}), Catch::Contains("valid UTF-8"));
  CHECK(read_bytes(path) == before);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK_THROWS_WITH(save_safetensors(tmp.file("no/such/dir/x.safetensors"), {{"a", a}}),
                    Catch::Contains("cannot create"));
  // A failure after the temporary was written (renaming a file over a directory) removes it.
  fs::create_directories(tmp.file("taken"));
  CHECK_THROWS_WITH(save_safetensors(tmp.file("taken"), {{"a", a}}, {}, SafetensorsFloat::BF16),
                    Catch::Contains("cannot rename"));
  CHECK_FALSE(fs::exists(tmp.file("taken.tmp")));
  CHECK(fs::is_directory(tmp.file("taken")));
}

TEST_CASE("safetensors: corrupt files are refused with a clear error", "[safetensors]") {
  ScratchDir tmp;
  std::string good_path = tmp.file("good.safetensors");
  save_safetensors(good_path,
                   {{"a", Tensor::from_vector<float>({1, 2}, {2})}, {"b", Tensor::from_vector<int32_t>({3}, {1})}});
  const std::string good = read_bytes(good_path);
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})";
  const std::string data = good.substr(good.size() - 12);
  REQUIRE(good == file_bytes(header + std::string((8 - header.size() % 8) % 8, ' '), data));
  REQUIRE_NOTHROW(SafetensorsFile::open(good_path));

  // The valid header with `from` replaced by `to` (the length field follows the new header).
  auto with = [&](const std::string& from, const std::string& to) {
    std::string h = header;
    size_t at = h.find(from);
    REQUIRE(at != std::string::npos);
    return file_bytes(h.replace(at, from.size(), to), data);
  };
  const std::string a_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  struct Corruption {
    const char* what;
    std::string bytes;
    const char* phrase;
  };
  std::vector<Corruption> cases = {
      {"empty file", "", "shorter than 8 bytes"},
      {"5 bytes", good.substr(0, 5), "shorter than 8 bytes"},
      {"truncated header", good.substr(0, 20), "runs past the end of the file"},
      {"huge header length", u64_le(1ull << 40) + good.substr(8), "exceeds the 100 MB limit"},
      {"header length 2^64-1", u64_le(~0ull) + good.substr(8), "exceeds the 100 MB limit"},
      {"truncated buffer", good.substr(0, good.size() - 3), "data buffer is truncated"},
      {"trailing bytes", good + "junk", "4 trailing bytes after the last tensor"},
      {"not JSON", file_bytes("{this is not json}", data), "header is not valid JSON"},
      {"JSON array", file_bytes("[1,2,3]", ""), "does not start with '{'"},
      {"leading space", file_bytes(" {}", ""), "does not start with '{'"},
      {"empty header", file_bytes("", ""), "does not start with '{'"},
      {"invalid UTF-8", with("\"b\"", "\"b\xc3\x28\""), "not valid UTF-8"},
      {"overlong UTF-8", with("\"b\"", "\"\xc0\xaf\""), "not valid UTF-8"},
      {"entry not an object", with(a_entry, R"("a":[0,8])"), "tensor 'a': entry is not a JSON object"},
      {"missing key", with(R"(,"data_offsets":[0,8])", ""), "tensor 'a': missing key 'data_offsets'"},
      {"extra key", with(R"("shape":[2],)", R"("shape":[2],"offsets":[0,8],)"), "tensor 'a': unexpected key 'offsets'"},
      {"bad dtype", with("\"F32\"", "\"F31\""), "tensor 'a': unknown dtype 'F31'"},
      {"dtype not a string", with("\"F32\"", "32"), "tensor 'a': dtype is not a string"},
      {"negative shape", with("[2]", "[-2]"), "tensor 'a': shape must be a list of non-negative integers"},
      {"float shape", with("[2]", "[2.0]"), "shape must be a list of non-negative integers"},
      {"shape not a list", with("[2]", "2"), "shape must be a list of non-negative integers"},
      {"offsets not two integers", with("[0,8]", "[0]"), "data_offsets must be two non-negative integers"},
      {"negative offset", with("[0,8]", "[-8,0]"), "data_offsets must be two non-negative integers"},
      {"begin > end", with("[0,8]", "[8,0]"), "has begin > end"},
      {"offsets mismatch size", with("[2]", "[3]"), "hold 8 bytes but shape (3) of F32 needs 12"},
      {"shape*size overflow", with("[2]", "[4294967296,4294967296]"), "overflows"},
      {"partial product overflow", with("[2]", "[1099511627776,1099511627776,0]"), "overflows"},
      {"dimension beyond int64", with("[2]", "[9223372036854775808,0]"), "overflows"},
      {"sub-byte size", with(R"("F32","shape":[2])", R"("F4","shape":[3])"), "not a whole number of bytes"},
      {"overlapping tensors", with("[8,12]", "[4,8]"), "tensor 'b' (bytes [4, 8)) overlaps the previous tensor"},
      {"gap between tensors",
       file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"I32","shape":[1],"data_offsets":[12,16]}})",
                  data + "pads"),
       "gap of 4 bytes before tensor 'b'"},
      {"buffer not starting at 0", with("[0,8]", "[4,12]"), "gap of 4 bytes before tensor 'a'"},
      {"duplicate names", with(a_entry, a_entry + "," + a_entry), "duplicate tensor name 'a'"},
      {"duplicate key in an entry", with(R"("dtype":"F32",)", R"("dtype":"F32","dtype":"F32",)"),
       "duplicate key 'dtype'"},
      {"metadata value not a string", with("{\"a\"", R"({"__metadata__":{"k":1},"a")"),
       "__metadata__ value for 'k' is not a string"},
      {"metadata not an object", with("{\"a\"", R"({"__metadata__":"pt","a")"), "__metadata__ is not an object"},
  };
  std::string path = tmp.file("bad.safetensors");
  for (const Corruption& c : cases) {
    INFO(c.what);
    write_bytes(path, c.bytes);
    CHECK_THROWS_WITH(SafetensorsFile::open(path), Catch::Contains(c.phrase) && Catch::Contains(path));
    CHECK_THROWS_AS(load_safetensors(path), Error);
  }
  CHECK_THROWS_WITH(SafetensorsFile::open(tmp.file("absent.safetensors")), Catch::Contains("cannot open"));
  CHECK_THROWS_WITH(SafetensorsFile::open(tmp.path().string()), Catch::Contains("not a regular file"));
}
