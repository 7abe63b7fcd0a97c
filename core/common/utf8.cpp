#include "common/utf8.h"

#include <cstdio>
#include <cstring>

namespace ls::utf8 {

namespace {

// Length of the valid sequence at s[i], or the length of its maximal invalid prefix
// negated (at least 1), following Unicode's "maximal subpart" rule (Table 3-7).
int sequenceAt(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    int need;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;        // overlong
        if (c == 0xED) hi = 0x9F;        // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;        // overlong
        if (c == 0xF4) hi = 0x8F;        // above U+10FFFF
    } else {
        return -1;
    }
    for (int k = 1; k <= need; ++k) {
        if (i + k >= s.size()) return -k;
        const unsigned char t = b(i + k);
        const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (t < l || t > h) return -k;
    }
    return need + 1;
}

// "0x" and two uppercase hex digits.
std::string hexByte(unsigned char byte) {
    static const char digits[] = "0123456789ABCDEF";
    return std::string("0x") + digits[byte >> 4] + digits[byte & 15];
}

}  // namespace

std::optional<size_t> firstInvalidByte(std::string_view s) {
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        // Fast path over ASCII runs, 8 bytes at a time: most text is mostly ASCII, and
        // datasets run to gigabytes.
        if (i + 8 <= n) {
            uint64_t block;
            std::memcpy(&block, s.data() + i, 8);
            if ((block & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const int length = sequenceAt(s, i);
        if (length < 0) return i;  // where the bad sequence starts, like Rust's valid_up_to()
        i += static_cast<size_t>(length);
    }
    return std::nullopt;
}

std::string describeInvalidSequence(std::string_view s, size_t offset) {
    // Decodes by the lead byte's bit pattern alone (0xC0, 0xC1 and 0xF5..0xF7 included), so
    // that the message can name the overlong form or the code point it would have been.
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    if (offset >= s.size()) return {};
    const unsigned char lead = b(offset);
    if (lead < 0x80) return {};
    int length = 0;
    uint32_t minimum = 0, cp = 0;
    if (lead >= 0xC0 && lead <= 0xDF) {
        length = 2, minimum = 0x80, cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3, minimum = 0x800, cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF7) {
        length = 4, minimum = 0x10000, cp = lead & 0x07;
    } else if (lead <= 0xBF) {
        return "unexpected continuation byte " + hexByte(lead);
    } else {
        return "byte " + hexByte(lead) + " never appears in UTF-8";
    }
    for (int k = 1; k < length; ++k) {
        if (offset + k >= s.size())
            return "sequence starting with " + hexByte(lead) + " is cut off by the end of the text";
        const unsigned char c = b(offset + k);
        if ((c & 0xC0) != 0x80)
            return "sequence starting with " + hexByte(lead) + " is missing a continuation byte (found " +
                   hexByte(c) + ")";
        cp = cp << 6 | (c & 0x3F);
    }
    char codePoint[16];
    std::snprintf(codePoint, sizeof codePoint, "U+%04X", unsigned(cp));
    if (cp < minimum) return std::string("overlong encoding of ") + codePoint;
    if (cp >= 0xD800 && cp <= 0xDFFF) return std::string("encoded UTF-16 surrogate ") + codePoint;
    if (cp > 0x10FFFF) return std::string("code point ") + codePoint + " is above U+10FFFF";
    return {};
}

char32_t next(std::string_view s, size_t& i) {
    const auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[k])); };
    const char32_t c = b(i);
    if (c < 0x80) {
        i += 1;
        return c;
    }
    if (c < 0xE0) {
        const char32_t cp = ((c & 0x1F) << 6) | (b(i + 1) & 0x3F);
        i += 2;
        return cp;
    }
    if (c < 0xF0) {
        const char32_t cp = ((c & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
        i += 3;
        return cp;
    }
    const char32_t cp = ((c & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) |
                        (b(i + 3) & 0x3F);
    i += 4;
    return cp;
}

std::optional<char32_t> onlyChar(std::string_view s) {
    if (s.empty() || firstInvalidByte(s)) return std::nullopt;
    size_t i = 0;
    const char32_t c = next(s, i);
    if (i != s.size()) return std::nullopt;
    return c;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string encode(char32_t cp) {
    std::string s;
    append(s, cp);
    return s;
}

std::string lossy(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    size_t i = 0;
    while (i < bytes.size()) {
        const int n = sequenceAt(bytes, i);
        if (n > 0) {
            out.append(bytes.substr(i, static_cast<size_t>(n)));
            i += static_cast<size_t>(n);
        } else {
            out += "\xEF\xBF\xBD";
            i += static_cast<size_t>(-n);
        }
    }
    return out;
}

}  // namespace ls::utf8
