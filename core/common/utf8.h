#pragma once
// UTF-8 helpers: the project's one validator (with what is wrong where) and the decoding and
// encoding the tokenizer pieces share. Strings are std::string holding UTF-8.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ls::utf8 {

// Byte offset of the first byte that breaks strict UTF-8 (overlong forms, surrogates and
// code points above U+10FFFF are errors, as for Rust's str), or nullopt if all is valid.
std::optional<size_t> firstInvalidByte(std::string_view s);

// What is wrong with the sequence whose lead byte is s[offset], the offset firstInvalidByte
// gave: "unexpected continuation byte 0x80", "byte 0xFF never appears in UTF-8",
// "sequence starting with 0xE2 is cut off by the end of the text", "... is missing a
// continuation byte (found 0x41)", "overlong encoding of U+002F", "encoded UTF-16 surrogate
// U+D800" or "code point U+110000 is above U+10FFFF". "" if the sequence there is valid.
std::string describeInvalidSequence(std::string_view s, size_t offset);

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
