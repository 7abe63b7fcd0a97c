// Token-id files: numpy's .npy (header parser, reader, and the writer tests and tools use)
// and nanoGPT's headerless .bin of little-endian uint16.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "data/dataset.h"
#include "data/dataset_readers_internal.h"

namespace ls {
namespace fs = std::filesystem;
using namespace dataset_readers;

namespace {

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

// The little-endian integer at p as a token id; throws unless it is in [0, INT32_MAX].
int32_t toTokenId(const unsigned char* p, IntType type, int64_t index, const fs::path& path) {
    uint64_t bits = 0;
    for (int k = 0; k < type.size; ++k) bits |= uint64_t(p[k]) << (8 * k);
    if (type.isSigned) {
        const int shift = 64 - 8 * type.size;
        const int64_t value = int64_t(bits << shift) >> shift;  // sign-extend
        if (value < 0)
            throw Error(path, "token id " + std::to_string(value) + " at index " + std::to_string(index) +
                                  " is negative");
    }
    if (bits > uint64_t(std::numeric_limits<int32_t>::max()))
        throw Error(path, "token id " + std::to_string(bits) + " at index " + std::to_string(index) +
                              " does not fit in int32");
    return int32_t(bits);
}

}  // namespace

// ---- .npy reading and writing -------------------------------------------------------

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
    ids.reserve(size_t(fileSize >= 0 ? count : std::min<int64_t>(count, 1 << 20)));  // unchecked count: cap
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
        for (int64_t k = 0; k < n; ++k) ids.push_back(toTokenId(chunk.data() + k * type.size, type, done + k, path));
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

// ---- .bin --------------------------------------------------------------------------

// nanoGPT's .bin: raw little-endian uint16, no header.
std::vector<int32_t> dataset_readers::readBinTokenIds(const fs::path& path) {
    std::ifstream in = openForReading(path);
    const auto oddSize = [&](int64_t bytes) {
        return Error(path, "has an odd number of bytes (" + std::to_string(bytes) +
                               "); a .bin dataset holds little-endian uint16 token ids, 2 bytes each");
    };
    const int64_t size = regularFileSize(path);
    if (size >= 0 && size % 2 != 0) throw oddSize(size);

    std::vector<int32_t> ids;
    if (size > 0) ids.reserve(size_t(size / 2));
    std::vector<unsigned char> chunk(size_t(1) << 20);  // even: only the last read can end mid-value
    int64_t total = 0;
    while (in) {
        in.read(reinterpret_cast<char*>(chunk.data()), std::streamsize(chunk.size()));
        const size_t got = size_t(in.gcount());
        for (size_t k = 0; k + 1 < got; k += 2) ids.push_back(int32_t(chunk[k] | chunk[k + 1] << 8));
        total += int64_t(got);
    }
    if (in.bad()) throw Error(path, "read error");
    if (total % 2 != 0) throw oddSize(total);
    return ids;
}

}  // namespace ls
