#pragma once
// Small UTF-8 helpers shared by the tokenizer pieces. Strings are std::string holding UTF-8.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ls::utf8 {

// Byte offset of the first byte that breaks strict UTF-8 (overlong forms, surrogates and
// code points above U+10FFFF are errors, as for Rust's str), or nullopt if all is valid.
std::optional<size_t> firstInvalidByte(std::string_view s);

// Decodes the code point starting at s[i] (s must be valid UTF-8) and advances i past it.
char32_t next(std::string_view s, size_t& i);

// Length in bytes of the character whose lead byte is `lead` (valid UTF-8 assumed).
inline size_t charLength(unsigned char lead) {
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// The code point of a string holding exactly one character, else nullopt.
std::optional<char32_t> onlyChar(std::string_view s);

void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);

// Bytes -> text with each invalid sequence replaced by U+FFFD, one replacement per
// "maximal subpart" (what Rust's String::from_utf8_lossy and WHATWG TextDecoder do).
std::string lossy(std::string_view bytes);

}  // namespace ls::utf8
