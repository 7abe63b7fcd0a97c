#pragma once
// Numbers as text for people (plain C++; the widgets use QLocale instead).
#include <cstdint>
#include <string>

namespace ls {

// "65,536": a count with its thousands grouped.
inline std::string countText(int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
    return (n < 0 ? "-" : "") + digits;
}

}  // namespace ls
