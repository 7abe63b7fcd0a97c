#pragma once
// FNV-1a, 64 bits: the hash that names run files' inputs (RunInfo::modelHash) and cache entries.
// Not for anything an adversary chooses: it is fast and simple, not collision-resistant.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ls {

constexpr uint64_t kFnv1aBasis = 1469598103934665603ull;

// h extended by n bytes (start from kFnv1aBasis).
inline uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ull;  // the FNV prime
    return h;
}

inline uint64_t fnv1a(std::string_view text) { return fnv1a(kFnv1aBasis, text.data(), text.size()); }

inline std::string hex16(uint64_t h) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

}  // namespace ls
