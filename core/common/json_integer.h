#pragma once
// nlohmann::json's get<int>() converts any number, silently: 1e30 or 3.7 become whatever the
// cast makes of them (undefined behaviour for out-of-range floats), and 2^40 wraps. Every
// integer LayerScope reads from a user's JSON (config.json, tokenizer files) goes through
// jsonInteger, which accepts whole numbers within T's range only (4096.0 is 4096).
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace ls {

// Throws std::runtime_error("expected an integer ..., found <value>") otherwise.
template <typename T>
T jsonInteger(const nlohmann::json& v) {
    static_assert(std::is_integral_v<T>);
    using L = std::numeric_limits<T>;
    const auto refuse = [&] {
        throw std::runtime_error("expected an integer from " + std::to_string(L::min()) + " to " +
                                 std::to_string(L::max()) + ", found " + v.dump());
    };
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(L::max())) refuse();
        return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
        const int64_t i = v.get<int64_t>();
        if ((L::is_signed && i < static_cast<int64_t>(L::min())) || (!L::is_signed && i < 0) ||
            (i > 0 && static_cast<uint64_t>(i) > static_cast<uint64_t>(L::max())))
            refuse();
        return static_cast<T>(i);
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        // L::max() + 1 is a power of two, exact as a double.
        if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(L::min()) ||
            d >= std::ldexp(1.0, L::digits))
            refuse();
        return static_cast<T>(d);
    }
    refuse();
    return T{};
}

// j[key] as T; throws (nlohmann's out_of_range) when the key is missing.
template <typename T>
T jsonInteger(const nlohmann::json& j, const char* key) {
    return jsonInteger<T>(j.at(key));
}

// j[key] as a list of ints.
inline std::vector<int> jsonIntegers(const nlohmann::json& j, const char* key) {
    std::vector<int> out;
    for (const nlohmann::json& v : j.at(key)) out.push_back(jsonInteger<int>(v));
    return out;
}

}  // namespace ls
