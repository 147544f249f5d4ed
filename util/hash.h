#pragma once
// FNV-1a: a small, stable, non-cryptographic hash (the same value in every process and release,
// so it may be persisted and compared across operator instances).
#include <cstdint>
#include <string_view>

namespace lagpilot {

inline constexpr std::uint64_t kFnv1a64Offset = 14695981039346656037ull;
inline constexpr std::uint32_t kFnv1a32Offset = 2166136261u;

// `seed`: the running hash, to hash several pieces as one.
constexpr std::uint64_t fnv1a64(std::string_view text, std::uint64_t seed = kFnv1a64Offset) {
  for (unsigned char c : text) {
    seed ^= c;
    seed *= 1099511628211ull;
  }
  return seed;
}

constexpr std::uint32_t fnv1a32(std::string_view text, std::uint32_t seed = kFnv1a32Offset) {
  for (unsigned char c : text) {
    seed ^= c;
    seed *= 16777619u;
  }
  return seed;
}

}  // namespace lagpilot
