#pragma once
// Character classes with the meaning Rust gives them (its std tables follow Unicode, as ICU's).
#include <unicode/uchar.h>

namespace ls::tok {

// char::is_whitespace: the White_Space property.
inline bool isWhitespace(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE); }

// char::is_numeric: general categories Nd, Nl, No.
inline bool isNumeric(char32_t c) {
    return (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_ND_MASK | U_GC_NL_MASK | U_GC_NO_MASK)) != 0;
}

// The regex crate's Unicode \w (Alphabetic, marks, decimal digits, connector punctuation,
// join controls), used by added tokens' single_word check.
inline bool isWordChar(char32_t c) {
    const auto u = static_cast<UChar32>(c);
    return u_hasBinaryProperty(u, UCHAR_ALPHABETIC) || u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL) ||
           (U_GET_GC_MASK(u) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

}  // namespace ls::tok
