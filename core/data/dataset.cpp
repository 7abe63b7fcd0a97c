#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

#include "common/error.h"
#include "tokenizer/tokenizer.h"

namespace ls {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNpyMagic = "\x93NUMPY";
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string hexByte(unsigned char byte) {
    static const char digits[] = "0123456789ABCDEF";
    return std::string("0x") + digits[byte >> 4] + digits[byte & 15];
}

std::ifstream openForReading(const fs::path& path) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) throw Error(path, "the file does not exist");
    if (fs::is_directory(status)) throw Error(path, "is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, std::string("cannot open the file: ") + std::strerror(errno));
    return in;
}

// Size of a regular file, or -1 for other kinds (pipes, devices).
int64_t regularFileSize(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return -1;
    const auto size = fs::file_size(path, ec);
    return ec ? -1 : int64_t(size);
}

[[noreturn]] void throwEmpty(const fs::path& path) { throw Error(path, "the dataset is empty"); }

// ---- .npy header -------------------------------------------------------------------

// The header dict, e.g. {'descr': '<i4', 'fortran_order': False, 'shape': (10,), }
struct NpyHeader {
    std::string descr;
    bool fortranOrder = false;
    std::vector<int64_t> shape;
    uint64_t dataOffset = 0;  // bytes before the data
};

// Parser for the small Python-literal subset numpy writes in .npy headers.
class NpyDictParser {
public:
    NpyDictParser(std::string_view text, const fs::path& path) : text_(text), path_(path) {}

    NpyHeader parse() {
        NpyHeader header;
        bool haveDescr = false, haveFortran = false, haveShape = false;
        expect('{');
        while (!peekIs('}')) {
            const std::string key = parseString();
            expect(':');
            if (key == "descr") {
                if (!peekIs('\'') && !peekIs('"'))
                    fail("'descr' is not a plain dtype string (structured dtypes are not supported)");
                header.descr = parseString();
                haveDescr = true;
            } else if (key == "fortran_order") {
                header.fortranOrder = parseBool();
                haveFortran = true;
            } else if (key == "shape") {
                header.shape = parseShape();
                haveShape = true;
            } else {
                fail("unexpected key '" + key + "'");
            }
            if (!peekIs('}')) expect(',');
        }
        expect('}');
        skipSpace();
        if (pos_ != text_.size()) fail("text after the closing '}'");
        if (!haveDescr || !haveFortran || !haveShape)
            fail("it must have the keys 'descr', 'fortran_order' and 'shape'");
        return header;
    }

private:
    [[noreturn]] void fail(const std::string& problem) const {
        std::string shown(text_);
        while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.pop_back();
        throw Error(path_, "malformed .npy header (" + problem + "): " + shown);
    }
    void skipSpace() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t'))
            ++pos_;
    }
    bool peekIs(char c) {
        skipSpace();
        return pos_ < text_.size() && text_[pos_] == c;
    }
    void expect(char c) {
        if (!peekIs(c)) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    std::string parseString() {
        skipSpace();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a string");
        const char quote = text_[pos_++];
        const size_t end = text_.find(quote, pos_);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string value(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return value;
    }
    bool parseBool() {
        skipSpace();
        for (const auto& [word, value] : {std::pair<std::string_view, bool>{"True", true}, {"False", false}}) {
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return value;
            }
        }
        fail("'fortran_order' must be True or False");
    }
    // "(3, 4)", "(10,)", "()"
    std::vector<int64_t> parseShape() {
        std::vector<int64_t> shape;
        expect('(');
        while (!peekIs(')')) {
            size_t digits = 0;
            int64_t value = 0;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
                const int digit = text_[pos_++] - '0';
                if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("dimension too large");
                value = value * 10 + digit;
                ++digits;
            }
            if (digits == 0) fail("'shape' must be a tuple of non-negative integers");
            if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long
            shape.push_back(value);
            if (!peekIs(')')) expect(',');
        }
        expect(')');
        return shape;
    }

    std::string_view text_;
    const fs::path& path_;
    size_t pos_ = 0;
};

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string text = "(";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + (shape.size() == 1 ? ",)" : ")");
}

// Reads magic, version and header dict; leaves `in` at the first data byte.
NpyHeader readNpyHeader(std::ifstream& in, const fs::path& path, int64_t fileSize) {
    unsigned char prefix[12] = {};
    in.read(reinterpret_cast<char*>(prefix), 8);
    if (in.gcount() < 6 || std::string_view(reinterpret_cast<char*>(prefix), 6) != kNpyMagic)
        throw Error(path, "not a .npy file (it does not start with the \\x93NUMPY magic)");
    if (in.gcount() < 8) throw Error(path, "truncated .npy file: the header is cut off");
    const int major = prefix[6], minor = prefix[7];
    uint64_t headerLength = 0, prefixLength = 0;
    if (major == 1 && minor == 0) {
        in.read(reinterpret_cast<char*>(prefix + 8), 2);
        headerLength = prefix[8] | uint64_t(prefix[9]) << 8;
        prefixLength = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        in.read(reinterpret_cast<char*>(prefix + 8), 4);
        headerLength = prefix[8] | uint64_t(prefix[9]) << 8 | uint64_t(prefix[10]) << 16 |
                       uint64_t(prefix[11]) << 24;
        prefixLength = 12;
    } else {
        throw Error(path, "unsupported .npy format version " + std::to_string(major) + "." +
                              std::to_string(minor) + " (1.0, 2.0 and 3.0 are supported)");
    }
    if (!in || (fileSize >= 0 && prefixLength + headerLength > uint64_t(fileSize)))
        throw Error(path, "truncated .npy file: the header is cut off");
    std::string text(headerLength, '\0');
    in.read(text.data(), std::streamsize(headerLength));
    if (uint64_t(in.gcount()) != headerLength) throw Error(path, "truncated .npy file: the header is cut off");

    NpyHeader header = NpyDictParser(text, path).parse();
    header.dataOffset = prefixLength + headerLength;
    return header;
}

// Element type from a numpy descr such as '<i4'; only little-endian integers.
struct IntType {
    bool isSigned = true;
    int size = 4;  // bytes
};

IntType parseIntType(const std::string& descr, const fs::path& path) {
    const std::string supported =
        "token ids must be little-endian integers: int32 '<i4', int64 '<i8', uint16 '<u2' "
        "(also uint8, int16, uint32)";
    if (descr.size() < 3) throw Error(path, "unsupported dtype '" + descr + "'; " + supported);
    const char order = descr[0], kind = descr[1];
    const std::string digits = descr.substr(2);
    const bool numeric = digits.size() == 1 && digits[0] >= '0' && digits[0] <= '9';
    const int size = numeric ? digits[0] - '0' : 0;
    if (kind == 'f' || kind == 'c')
        throw Error(path, "holds floating-point values (dtype '" + descr +
                              "'); token ids must be integers: save with arr.astype(np.int32)");
    if ((kind != 'i' && kind != 'u') || (size != 1 && size != 2 && size != 4 && size != 8))
        throw Error(path, "unsupported dtype '" + descr + "'; " + supported);
    if (order == '>' && size > 1)
        throw Error(path, "big-endian data (dtype '" + descr + "') is not supported; save it with arr.astype('<" +
                              descr.substr(1) + "')");
    if (!(order == '<' || order == '|' || (order == '>' && size == 1)))
        throw Error(path, "unsupported dtype '" + descr + "'; " + supported);
    return {kind == 'i', size};
}

// A decoded element: uint64 keeps every uint64 value exact, int64 every negative one.
struct Decoded {
    bool negative;
    uint64_t value;       // the value, if !negative
    int64_t signedValue;  // the value, if negative
};

// Little-endian integer of type.size bytes at p, sign-extended if the type is signed.

inline Decoded decodeLittleEndian(const unsigned char* p, IntType type) {
    uint64_t bits = 0;
    for (int k = 0; k < type.size; ++k) bits |= uint64_t(p[k]) << (8 * k);
    if (type.isSigned) {
        const int shift = 64 - 8 * type.size;
        const int64_t v = int64_t(bits << shift) >> shift;  // sign-extend
        return {v < 0, uint64_t(v), v};
    }
    return {false, bits, 0};
}

// ---- UTF-8 -------------------------------------------------------------------------

struct Utf8Problem {
    size_t offset;  // first byte of the bad sequence
    std::string what;
};

// First invalid sequence in text (strict RFC 3629), or offset == npos.
Utf8Problem findInvalidUtf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        // ASCII fast path, 8 bytes at a time
        if (i + 8 <= n) {
            uint64_t block;
            std::memcpy(&block, s + i, 8);
            if ((block & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        const unsigned char lead = s[i];
        if (lead < 0x80) {
            ++i;
            continue;
        }
        int length = 0;
        uint32_t minimum = 0, cp = 0;
        if (lead >= 0xC0 && lead <= 0xDF) {
            length = 2, minimum = 0x80, cp = lead & 0x1F;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3, minimum = 0x800, cp = lead & 0x0F;
        } else if (lead >= 0xF0 && lead <= 0xF7) {
            length = 4, minimum = 0x10000, cp = lead & 0x07;
        } else if (lead >= 0x80 && lead <= 0xBF) {
            return {i, "unexpected continuation byte " + hexByte(lead)};
        } else {
            return {i, "byte " + hexByte(lead) + " never appears in UTF-8"};
        }
        for (int k = 1; k < length; ++k) {
            if (i + k >= n) return {i, "sequence starting with " + hexByte(lead) + " is cut off by the end of the text"};
            const unsigned char c = s[i + k];
            if ((c & 0xC0) != 0x80)
                return {i, "sequence starting with " + hexByte(lead) + " is missing a continuation byte (found " +
                               hexByte(c) + ")"};
            cp = cp << 6 | (c & 0x3F);
        }
        char codePoint[16];
        std::snprintf(codePoint, sizeof codePoint, "U+%04X", unsigned(cp));
        if (cp < minimum) return {i, std::string("overlong encoding of ") + codePoint};
        if (cp >= 0xD800 && cp <= 0xDFFF) return {i, std::string("encoded UTF-16 surrogate ") + codePoint};
        if (cp > 0x10FFFF) return {i, std::string("code point ") + codePoint + " is above U+10FFFF"};
        i += size_t(length);
    }
    return {std::string_view::npos, {}};
}

}  // namespace

std::string readFileBytes(const fs::path& path) {
    std::ifstream in = openForReading(path);
    const int64_t size = regularFileSize(path);
    std::string bytes;
    if (size >= 0) {
        bytes.resize(size_t(size));
        in.read(bytes.data(), std::streamsize(size));
        if (in.gcount() != std::streamsize(size))
            throw Error(path, "could not read the whole file (" + std::to_string(in.gcount()) + " of " +
                                  std::to_string(size) + " bytes)");
    } else {  // pipes and devices have no size: read to the end
        std::ostringstream all;
        all << in.rdbuf();
        bytes = std::move(all).str();
    }
    if (in.bad()) throw Error(path, "read error");
    return bytes;
}

void requireValidUtf8(std::string_view text, const fs::path& path) {
    const Utf8Problem problem = findInvalidUtf8(text);
    if (problem.offset == std::string_view::npos) return;
    const size_t line = 1 + size_t(std::count(text.begin(), text.begin() + problem.offset, '\n'));
    throw Error(path, "invalid UTF-8 at byte " + std::to_string(problem.offset) + " (line " +
                          std::to_string(line) + "): " + problem.what);
}

DataFormat detectFormat(const fs::path& path) {
    std::ifstream in = openForReading(path);
    char head[6] = {};
    in.read(head, sizeof head);
    if (std::string_view(head, size_t(in.gcount())) == kNpyMagic) return DataFormat::Npy;
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return extension == ".npy" ? DataFormat::Npy : DataFormat::Text;
}

std::vector<int32_t> readNpyTokenIds(const fs::path& path) {
    std::ifstream in = openForReading(path);
    const int64_t fileSize = regularFileSize(path);
    const NpyHeader header = readNpyHeader(in, path, fileSize);
    const IntType type = parseIntType(header.descr, path);

    if (header.shape.size() != 1) {
        std::string problem = "has shape " + shapeText(header.shape);
        if (header.fortranOrder && header.shape.size() > 1) problem += " in Fortran order";
        throw Error(path, problem + "; only 1-D arrays of token ids are supported (flatten with arr.reshape(-1))");
    }
    const int64_t count = header.shape[0];
    if (fileSize >= 0) {
        const uint64_t available = uint64_t(fileSize) - header.dataOffset;
        if (uint64_t(count) > available / uint64_t(type.size))
            throw Error(path, "truncated .npy file: the header says " + std::to_string(count) + " values of " +
                                  std::to_string(type.size) + " bytes but only " + std::to_string(available) +
                                  " bytes of data follow");
    }

    // Decode chunk by chunk straight into the result: no second copy of the file.
    std::vector<int32_t> ids;
    ids.reserve(size_t(count));
    std::vector<unsigned char> chunk;
    const int64_t perChunk = (int64_t(1) << 20) / type.size;
    for (int64_t done = 0; done < count;) {
        const int64_t n = std::min(perChunk, count - done);
        chunk.resize(size_t(n * type.size));
        in.read(reinterpret_cast<char*>(chunk.data()), std::streamsize(chunk.size()));
        if (uint64_t(in.gcount()) != chunk.size())
            throw Error(path, "truncated .npy file: the data ends after " +
                                  std::to_string(done + in.gcount() / type.size) + " of " + std::to_string(count) +
                                  " values");
        for (int64_t k = 0; k < n; ++k) {
            const Decoded d = decodeLittleEndian(chunk.data() + k * type.size, type);
            const int64_t index = done + k;
            if (d.negative)
                throw Error(path, "token id " + std::to_string(d.signedValue) + " at index " + std::to_string(index) +
                                      " is negative");
            if (d.value > uint64_t(std::numeric_limits<int32_t>::max()))
                throw Error(path, "token id " + std::to_string(d.value) + " at index " + std::to_string(index) +
                                      " does not fit in int32");
            ids.push_back(int32_t(d.value));
        }
        done += n;
    }
    return ids;
}

void writeNpyInt32(const fs::path& path, const std::vector<int32_t>& values) {
    // Format 1.0: magic, version, uint16 header length, then the dict padded with
    // spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
    std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + std::to_string(values.size()) + ",), }";
    const size_t prefix = kNpyMagic.size() + 2 + 2;
    const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';
    if (dict.size() > 0xFFFF) throw Error(path, "the .npy header is too long");

    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path, std::string("cannot write the file: ") + std::strerror(errno));
    out.write(kNpyMagic.data(), std::streamsize(kNpyMagic.size()));
    const char versionAndLength[4] = {1, 0, char(dict.size() & 0xFF), char(dict.size() >> 8)};
    out.write(versionAndLength, 4);
    out.write(dict.data(), std::streamsize(dict.size()));

    std::vector<unsigned char> chunk;
    const size_t perChunk = size_t(1) << 18;
    for (size_t done = 0; done < values.size(); done += perChunk) {
        const size_t n = std::min(perChunk, values.size() - done);
        chunk.resize(n * 4);
        for (size_t k = 0; k < n; ++k) {
            const uint32_t v = uint32_t(values[done + k]);
            for (int b = 0; b < 4; ++b) chunk[k * 4 + size_t(b)] = (unsigned char)(v >> (8 * b));
        }
        out.write(reinterpret_cast<const char*>(chunk.data()), std::streamsize(chunk.size()));
    }
    out.close();
    if (!out) throw Error(path, "could not write the whole file (disk full?)");
}

Dataset loadDataset(const fs::path& path, const Tokenizer* tokenizer, int32_t vocabSize, DataFormat format) {
    openForReading(path);  // "does not exist" comes before any other complaint
    Dataset dataset;
    dataset.path = path;
    dataset.format = format == DataFormat::Auto ? detectFormat(path) : format;
    if (regularFileSize(path) == 0) throwEmpty(path);

    if (dataset.format == DataFormat::Npy) {
        dataset.tokens = readNpyTokenIds(path);
    } else {
        if (!tokenizer)
            throw Error(path, "text datasets need a tokenizer: give a model folder with tokenizer.json "
                              "(or vocab.json + merges.txt), or token ids as a .npy file");
        // The text lives only in this scope: freed as soon as it is encoded.
        const std::string text = readFileBytes(path);
        requireValidUtf8(text, path);  // offsets in messages are file offsets, BOM included
        std::string_view body = text;
        if (body.substr(0, kUtf8Bom.size()) == kUtf8Bom) body.remove_prefix(kUtf8Bom.size());
        if (body.empty()) throwEmpty(path);
        dataset.tokens = tokenizer->encode(body, true);
    }
    if (dataset.tokens.empty()) throwEmpty(path);

    if (vocabSize > 0) {
        for (size_t i = 0; i < dataset.tokens.size(); ++i) {
            const int32_t id = dataset.tokens[i];
            if (id < 0 || id >= vocabSize)
                throw Error(path, "token id " + std::to_string(id) + " at index " + std::to_string(i) +
                                      " is outside the model's vocabulary [0, " + std::to_string(vocabSize) + ")");
        }
    }
    return dataset;
}

}  // namespace ls
