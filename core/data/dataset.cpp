// Datasets: format names and detection, reading a file's bytes and checking its UTF-8, and
// loadDataset, which hands each format to its reader (token_id_files.cpp, text_documents.cpp,
// alpaca_records.cpp).
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

#include "common/error.h"
#include "common/memory.h"
#include "common/utf8.h"
#include "data/dataset_readers_internal.h"
#include "tokenizer/tokenizer.h"

namespace ls {
namespace fs = std::filesystem;
using namespace dataset_readers;

namespace dataset_readers {

std::ifstream openForReading(const fs::path& path) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) throw Error(path, "the file does not exist");
    if (fs::is_directory(status)) throw Error(path, "is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, std::string("cannot open the file: ") + std::strerror(errno));
    return in;
}

int64_t regularFileSize(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return -1;
    const auto size = fs::file_size(path, ec);
    return ec ? -1 : int64_t(size);
}

bool DocumentWriter::add(std::string_view text, bool appendEos) {
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

}  // namespace dataset_readers

namespace {

[[noreturn]] void throwEmpty(const fs::path& path) { throw Error(path, "the dataset is empty"); }

// ---- format detection --------------------------------------------------------------

constexpr size_t kSniffBytes = 4096;

// The format a file starting with `head` looks like by content: JSON (an array of records or
// one object per line) or WikiText (a " = Title = " line). None for binary-looking bytes.
// `cut`: the file goes on after head.
std::optional<DataFormat> textFormatOf(std::string_view head, bool cut) {
    if (head.find('\0') != std::string_view::npos) return std::nullopt;
    const std::optional<size_t> invalid = utf8::firstInvalidByte(head);
    if (invalid && !(cut && *invalid + 4 > head.size())) return std::nullopt;
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
    switch (dataset.format) {
        case DataFormat::Text: addTextParagraphs(body, writer); break;
        case DataFormat::WikiText: addWikiTextArticles(body, writer); break;
        case DataFormat::AlpacaJson: addAlpacaJson(body, options, path, writer); break;
        case DataFormat::AlpacaJsonl: addAlpacaJsonl(body, options, path, writer); break;
        default: throw Error(path, std::string("format ") + dataFormatName(dataset.format) + " is not text");
    }
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
    const std::optional<size_t> invalid = utf8::firstInvalidByte(text);
    if (!invalid) return;
    const size_t line = 1 + size_t(std::count(text.begin(), text.begin() + *invalid, '\n'));
    throw Error(path, "invalid UTF-8 at byte " + std::to_string(*invalid) + " (line " + std::to_string(line) +
                          "): " + utf8::describeInvalidSequence(text, *invalid));
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
    throw ParamError("format", "unknown format '" + name +
                "' (expected auto, text, wikitext, alpaca-json, alpaca-jsonl, npy or bin)");
}

bool formatNeedsTokenizer(DataFormat format) {
    return format == DataFormat::Text || format == DataFormat::WikiText || format == DataFormat::AlpacaJson ||
           format == DataFormat::AlpacaJsonl;
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

Dataset loadDataset(const fs::path& path, const Tokenizer* tokenizer, int32_t vocabSize,
                    const DatasetOptions& options) {
    openForReading(path);  // "does not exist" comes before any other complaint
    Dataset dataset;
    dataset.path = path;
    dataset.format = options.format == DataFormat::Auto ? detectFormat(path) : options.format;
    if (dataset.format == DataFormat::AlpacaJson || dataset.format == DataFormat::AlpacaJsonl) {
        requirePlaceholders(options.promptTemplate, "prompt-template");
        requirePlaceholders(options.promptTemplateNoInput, "prompt-template-no-input");
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
