#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/memory.h"
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

// ---- text documents ----------------------------------------------------------------

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

bool isBlank(std::string_view text) { return std::all_of(text.begin(), text.end(), isSpace); }

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
    while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
    return text;
}

// A WikiText article heading " = Title = "; a section heading " = = Title = = " is not one.
bool isWikiTextHeading(std::string_view line) {
    const std::string_view t = trimmed(line);
    if (t.size() < 5 || t.substr(0, 2) != "= " || t.substr(t.size() - 2) != " =") return false;
    const std::string_view title = trimmed(t.substr(2, t.size() - 4));
    return !title.empty() && title.front() != '=' && title.back() != '=';
}

// Calls f(line) for each line of text, its '\n' included, until f returns false.
template <typename F>
void forEachLine(std::string_view text, F f) {
    for (size_t begin = 0; begin < text.size();) {
        const size_t newline = text.find('\n', begin);
        const size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
        if (!f(text.substr(begin, end - begin))) return;
        begin = end;
    }
}

// Cuts text into consecutive pieces, a new one starting at each line for which
// startsDocument(line, previousLine) holds, and calls document(piece) until it returns false.
template <typename StartsDocument, typename Document>
void splitAtLines(std::string_view text, StartsDocument startsDocument, Document document) {
    const char* pieceBegin = text.data();
    std::string_view previous;
    bool more = true;
    forEachLine(text, [&](std::string_view line) {
        if (line.data() > pieceBegin && startsDocument(line, previous)) {
            more = document(std::string_view(pieceBegin, size_t(line.data() - pieceBegin)));
            pieceBegin = line.data();
        }
        previous = line;
        return more;
    });
    const char* end = text.data() + text.size();
    if (more && pieceBegin < end) document(std::string_view(pieceBegin, size_t(end - pieceBegin)));
}

// Encodes documents into a dataset, one after the other, up to maxDocuments.
class DocumentWriter {
public:
    DocumentWriter(Dataset& dataset, const Tokenizer& tokenizer, int64_t maxDocuments)
        : dataset_(dataset), tokenizer_(tokenizer), maxDocuments_(maxDocuments) {}

    bool full() const { return maxDocuments_ > 0 && dataset_.documents() >= maxDocuments_; }

    // Whitespace-only documents are skipped. Returns false once no more documents are wanted.
    bool add(std::string_view text, bool appendEos = false) {
        if (isBlank(text)) return !full();
        std::vector<int32_t> ids = tokenizer_.encode(text, true);
        if (appendEos)
            if (const std::optional<int32_t> eos = tokenizer_.eosId()) ids.push_back(*eos);
        if (!ids.empty()) {
            dataset_.documentStarts.push_back(int64_t(dataset_.tokens.size()));
            dataset_.tokens.insert(dataset_.tokens.end(), ids.begin(), ids.end());
        }
        return !full();
    }

private:
    Dataset& dataset_;
    const Tokenizer& tokenizer_;
    int64_t maxDocuments_;
};

// ---- Alpaca records ----------------------------------------------------------------

using nlohmann::json;

std::string describeJson(const json& value) {
    switch (value.type()) {
        case json::value_t::object: return "an object";
        case json::value_t::array: return "an array";
        case json::value_t::string: return "a string";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::null: return "null";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: return "a number";
        default: return value.type_name();
    }
}

// The parser's message ("parse error at line 3, column 5: ...") without its exception-id prefix.
// parse_error, or out_of_range for a number too large for a double ("1e999").
std::string parseErrorText(const json::exception& e) {
    std::string text = e.what();
    const size_t prefixEnd = text.find("] ");
    if (text.rfind("[json.exception.", 0) == 0 && prefixEnd != std::string::npos) text.erase(0, prefixEnd + 2);
    return text;
}

void requirePlaceholders(const std::string& tmpl, const char* option) {
    if (tmpl.find("{instruction}") == std::string::npos && tmpl.find("{output}") == std::string::npos)
        throw Error(std::string(option) +
                    ": the prompt template contains neither {instruction} nor {output}, so every record "
                    "would give the same text");
}

// A field's text; "" for the optional field when it is missing or null.
std::string stringField(const json& record, const char* name, bool required, const fs::path& path,
                        const std::string& where) {
    const auto it = record.find(name);
    if (it == record.end() || (!required && it->is_null())) {
        if (required) throw Error(path, where + ": field '" + name + "' is missing");
        return {};
    }
    if (!it->is_string())
        throw Error(path, where + ": field '" + name + "' is not a string (it is " + describeJson(*it) + ")");
    return it->get<std::string>();
}

// where: "record 12" (JSON, 0-based array index) or "line 7" (JSONL, 1-based).
void addAlpacaRecord(const json& record, const std::string& where, const DatasetOptions& options,
                     const fs::path& path, DocumentWriter& writer) {
    if (!record.is_object())
        throw Error(path, where + ": expected an object with \"instruction\", \"input\" and \"output\", found " +
                              describeJson(record));
    const std::string instruction = stringField(record, "instruction", true, path, where);
    const std::string input = stringField(record, "input", false, path, where);
    const std::string output = stringField(record, "output", true, path, where);
    const std::string& tmpl = input.empty() ? options.promptTemplateNoInput : options.promptTemplate;
    writer.add(renderPrompt(tmpl, instruction, input, output), /*appendEos=*/true);
}

void addAlpacaJson(std::string_view body, const DatasetOptions& options, const fs::path& path,
                   DocumentWriter& writer) {
    json root;
    try {
        root = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
        throw Error(path, "invalid JSON: " + parseErrorText(e));
    }
    if (!root.is_array())
        throw Error(path, "expected a JSON array of records at the top level, found " + describeJson(root) +
                              (root.is_object() ? " (for one record per line, use JSON Lines: alpaca-jsonl)" : ""));
    for (size_t i = 0; i < root.size() && !writer.full(); ++i)
        addAlpacaRecord(root[i], "record " + std::to_string(i), options, path, writer);
}

void addAlpacaJsonl(std::string_view body, const DatasetOptions& options, const fs::path& path,
                    DocumentWriter& writer) {
    int64_t lineNumber = 0;
    forEachLine(body, [&](std::string_view line) {
        ++lineNumber;
        if (isBlank(line)) return true;
        const std::string where = "line " + std::to_string(lineNumber);
        json record;
        try {
            record = json::parse(line.begin(), line.end());
        } catch (const json::exception& e) {
            // The parser saw one line: its "line 1" would only confuse.
            std::string text = parseErrorText(e);
            const std::string lineOne = "at line 1, column ";
            if (const size_t at = text.find(lineOne); at != std::string::npos) text.replace(at, lineOne.size(), "at column ");
            throw Error(path, where + ": invalid JSON (JSON Lines hold one complete record per line): " + text);
        }
        addAlpacaRecord(record, where, options, path, writer);
        return !writer.full();
    });
}

// Reads a text-like dataset and encodes it document by document. The file's text lives
// only in here, so at most the text and the ids are in memory at once.
void addTextDocuments(Dataset& dataset, const Tokenizer& tokenizer, const DatasetOptions& options) {
    const fs::path& path = dataset.path;
    const std::string text = readFileBytes(path);
    requireValidUtf8(text, path);  // offsets in messages are file offsets, BOM included
    std::string_view body = text;
    if (body.substr(0, kUtf8Bom.size()) == kUtf8Bom) body.remove_prefix(kUtf8Bom.size());
    // ~4 bytes per token in English text: one allocation instead of growing (and copying) the ids.
    if (options.maxDocuments <= 0) dataset.tokens.reserve(body.size() / 3 + 16);

    DocumentWriter writer(dataset, tokenizer, options.maxDocuments);
    const auto add = [&](std::string_view document) { return writer.add(document); };
    switch (dataset.format) {
        case DataFormat::Text:  // paragraphs: a non-blank line after a blank one starts a document
            splitAtLines(body, [](std::string_view line, std::string_view previous) {
                return isBlank(previous) && !isBlank(line);
            }, add);
            break;
        case DataFormat::WikiText:  // articles: each starts at its " = Title = " line
            splitAtLines(body, [](std::string_view line, std::string_view) { return isWikiTextHeading(line); }, add);
            break;
        case DataFormat::AlpacaJson: addAlpacaJson(body, options, path, writer); break;
        case DataFormat::AlpacaJsonl: addAlpacaJsonl(body, options, path, writer); break;
        default: throw Error(path, std::string("format ") + dataFormatName(dataset.format) + " is not text");
    }
}

// ---- token ids ---------------------------------------------------------------------

// nanoGPT's .bin: raw little-endian uint16, no header.
std::vector<int32_t> readBinTokenIds(const fs::path& path) {
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

// ---- format detection --------------------------------------------------------------

constexpr size_t kSniffBytes = 4096;

// The format a file starting with `head` looks like by content: JSON (an array of records or
// one object per line) or WikiText (a " = Title = " line). None for binary-looking bytes.
// `cut`: the file goes on after head.
std::optional<DataFormat> textFormatOf(std::string_view head, bool cut) {
    if (head.find('\0') != std::string_view::npos) return std::nullopt;
    const Utf8Problem problem = findInvalidUtf8(head);
    if (problem.offset != std::string_view::npos && !(cut && problem.offset + 4 > head.size())) return std::nullopt;
    if (head.substr(0, kUtf8Bom.size()) == kUtf8Bom) head.remove_prefix(kUtf8Bom.size());

    // JSON: '[' or '{' followed by what can follow in a record file, so that text such as
    // "[Verse 1]" or "{{Infobox" stays text.
    const std::string_view start = trimmed(head);
    const auto nextIsOneOf = [&](std::string_view allowed) {
        const std::string_view rest = trimmed(start.substr(1));
        return rest.empty() || allowed.find(rest.front()) != std::string_view::npos;
    };
    if (!start.empty() && start.front() == '[' && nextIsOneOf("{[]\"")) return DataFormat::AlpacaJson;
    if (!start.empty() && start.front() == '{' && nextIsOneOf("\"}")) return DataFormat::AlpacaJsonl;

    if (cut) head = head.substr(0, head.rfind('\n') + 1);  // complete lines only (npos + 1 == 0)
    bool heading = false;
    forEachLine(head, [&](std::string_view line) { return !(heading = isWikiTextHeading(line)); });
    if (heading) return DataFormat::WikiText;
    return std::nullopt;
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

const char* dataFormatName(DataFormat format) {
    switch (format) {
        case DataFormat::Auto: return "auto";
        case DataFormat::Text: return "text";
        case DataFormat::WikiText: return "wikitext";
        case DataFormat::AlpacaJson: return "alpaca-json";
        case DataFormat::AlpacaJsonl: return "alpaca-jsonl";
        case DataFormat::Npy: return "npy";
        case DataFormat::Bin: return "bin";
    }
    return "unknown";
}

DataFormat parseDataFormat(const std::string& name) {
    for (DataFormat format : {DataFormat::Auto, DataFormat::Text, DataFormat::WikiText, DataFormat::AlpacaJson,
                              DataFormat::AlpacaJsonl, DataFormat::Npy, DataFormat::Bin})
        if (name == dataFormatName(format)) return format;
    throw Error("--format: unknown format '" + name +
                "' (expected auto, text, wikitext, alpaca-json, alpaca-jsonl, npy or bin)");
}

bool formatNeedsTokenizer(DataFormat format) {
    return format == DataFormat::Text || format == DataFormat::WikiText || format == DataFormat::AlpacaJson ||
           format == DataFormat::AlpacaJsonl;
}

std::string renderPrompt(const std::string& tmpl, const std::string& instruction, const std::string& input,
                         const std::string& output) {
    const std::pair<std::string_view, const std::string*> fields[] = {
        {"{instruction}", &instruction}, {"{input}", &input}, {"{output}", &output}};
    // One pass over the template: braces inside the fields are never replaced.
    std::string prompt;
    prompt.reserve(tmpl.size() + instruction.size() + input.size() + output.size());
    for (size_t i = 0; i < tmpl.size();) {
        const size_t brace = std::min(tmpl.find('{', i), tmpl.size());
        prompt.append(tmpl, i, brace - i);
        i = brace;
        if (i == tmpl.size()) break;
        const auto field = std::find_if(std::begin(fields), std::end(fields),
                                        [&](const auto& f) { return tmpl.compare(i, f.first.size(), f.first) == 0; });
        if (field != std::end(fields)) {
            prompt += *field->second;
            i += field->first.size();
        } else {
            prompt += '{';
            ++i;
        }
    }
    return prompt;
}

DataFormat detectFormat(const fs::path& path) {
    std::ifstream in = openForReading(path);
    std::string head(kSniffBytes, '\0');
    in.read(head.data(), std::streamsize(head.size()));
    head.resize(size_t(in.gcount()));
    if (std::string_view(head).substr(0, kNpyMagic.size()) == kNpyMagic) return DataFormat::Npy;
    if (const std::optional<DataFormat> format = textFormatOf(head, head.size() == kSniffBytes)) return *format;

    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (extension == ".npy") return DataFormat::Npy;
    if (extension == ".bin") return DataFormat::Bin;
    if (extension == ".json") return DataFormat::AlpacaJson;
    if (extension == ".jsonl") return DataFormat::AlpacaJsonl;
    if (extension == ".raw" || extension == ".tokens") return DataFormat::WikiText;
    return DataFormat::Text;
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

namespace {

// A dataset too large for this machine stops here, with the estimate, before it is read:
// the file is read whole, and its token ids become int32. The estimate counts one id per 2
// bytes: exact for .bin and uint16 .npy, generous for text (subword tokenizers average one
// id per 3 to 5 bytes).
void requireMemoryFor(const fs::path& path, int64_t fileBytes) {
    const int64_t idBytes = 2 * fileBytes;
    const int64_t needed = fileBytes + idBytes, available = availableMemoryBytes();
    if (available >= 0 && needed > available)
        throw Error(path, "reading it needs about " + formatBytes(needed) + " (the " + formatBytes(fileBytes) +
                              " file and its token ids), but only " + formatBytes(available) + " of memory is available");
}

}  // namespace

Dataset loadDataset(const fs::path& path, const Tokenizer* tokenizer, int32_t vocabSize,
                    const DatasetOptions& options) {
    openForReading(path);  // "does not exist" comes before any other complaint
    Dataset dataset;
    dataset.path = path;
    dataset.format = options.format == DataFormat::Auto ? detectFormat(path) : options.format;
    if (dataset.format == DataFormat::AlpacaJson || dataset.format == DataFormat::AlpacaJsonl) {
        requirePlaceholders(options.promptTemplate, "--prompt-template");
        requirePlaceholders(options.promptTemplateNoInput, "--prompt-template-no-input");
    }
    const int64_t fileBytes = static_cast<int64_t>(regularFileSize(path));
    if (fileBytes == 0) throwEmpty(path);
    requireMemoryFor(path, fileBytes);

    if (dataset.format == DataFormat::Npy) {
        dataset.tokens = readNpyTokenIds(path);
    } else if (dataset.format == DataFormat::Bin) {
        dataset.tokens = readBinTokenIds(path);
    } else {
        if (!tokenizer)
            throw Error(path, std::string(dataFormatName(dataset.format)) +
                                  " data needs a tokenizer: give a model folder with tokenizer.json "
                                  "(or vocab.json + merges.txt), or token ids as a .npy or .bin file");
        addTextDocuments(dataset, *tokenizer, options);
        // The text is gone now: trimming the reserved ids costs no more than the peak so far.
        if (dataset.tokens.capacity() > dataset.tokens.size() + dataset.tokens.size() / 4)
            dataset.tokens.shrink_to_fit();
    }
    if (dataset.tokens.empty()) throwEmpty(path);
    if (dataset.documentStarts.empty()) dataset.documentStarts = {0};  // token-id files: one document

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
