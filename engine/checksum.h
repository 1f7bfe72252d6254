// engine/checksum.h: content checksums for files that key caches (the transfer set, the teacher's soft targets).
//
// 64-bit FNV-1a (Fowler, Noll, Vo): not cryptographic, but a changed, added or dropped byte anywhere changes it with
// probability 1 - 2^-64, which is what "is this cache still the one I made" needs. One function for strings and
// files, so a checksum written from memory matches the file's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace docbert {

// FNV-1a 64-bit offset basis: the checksum of no bytes.
inline constexpr uint64_t kFnv1a64Basis = 14695981039346656037ull;

// The FNV-1a 64-bit hash of `data`, continuing from `h`: fnv1a64(b, fnv1a64(a)) == fnv1a64(a + b), so long inputs
// can be hashed in pieces.
//   data: the bytes
//   h:    the hash so far (kFnv1a64Basis to start)
uint64_t fnv1a64(std::string_view data, uint64_t h = kFnv1a64Basis);

// The FNV-1a 64-bit hash of a file's bytes, read in 1 MiB pieces (files larger than memory are fine). Throws
// docbert::Error "<path>: file not found", "<path>: cannot open the file: <reason>" or "<path>: read error".
uint64_t fnv1a64_file(const std::string& path);

// `h` as 16 lowercase hex digits, zero-padded ("cbf29ce484222325" for kFnv1a64Basis).
std::string checksum_hex(uint64_t h);

}  // namespace docbert
