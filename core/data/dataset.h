#pragma once
// Datasets as a token-id stream split into documents. Plain C++: no Qt, no LibTorch.
//   - raw UTF-8 text (.txt): documents are paragraphs separated by blank lines;
//   - WikiText (.raw/.tokens, or text whose lines look like " = Title = "): documents are
//     articles, each starting at a top-level heading line " = Title = ";
//   - Alpaca JSON (an array of {instruction, input, output} objects) and JSONL (one object
//     per line): each record, rendered through an editable prompt template, is a document;
//   - token ids: .npy (1-D int32 / int64 / uint16, little-endian, C order) and nanoGPT-style
//     .bin (raw little-endian uint16, no header): one document.
// Text-like formats are encoded per document with the model's tokenizer
// (addSpecialTokens = true, so Llama-family documents start with BOS as the reference
// tokenizer call does), and the tokenizer's EOS, if it has one, is appended to each
// Alpaca record. Every failure throws ls::Error naming the file and the problem.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ls {

class Tokenizer;

enum class DataFormat { Auto, Text, WikiText, AlpacaJson, AlpacaJsonl, Npy, Bin };

// "text", "wikitext", "alpaca-json", "alpaca-jsonl", "npy", "bin" (and "auto").
const char* dataFormatName(DataFormat format);
// Inverse of dataFormatName; throws ls::ParamError("format", ...) for an unknown name.
DataFormat parseDataFormat(const std::string& name);
// True for the formats that need a tokenizer.
bool formatNeedsTokenizer(DataFormat format);

// The Stanford Alpaca prompt; {instruction}, {input} and {output} are replaced by the
// record's fields. Records whose input is empty use the second template.
inline constexpr const char* kAlpacaTemplate =
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{output}";
inline constexpr const char* kAlpacaTemplateNoInput =
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n{output}";

struct DatasetOptions {
    DataFormat format = DataFormat::Auto;  // Auto: detectFormat
    std::string promptTemplate = kAlpacaTemplate;
    std::string promptTemplateNoInput = kAlpacaTemplateNoInput;
    int64_t maxDocuments = 0;              // "num_samples": only the first N documents/records; 0 = all

    bool operator==(const DatasetOptions& o) const {
        return format == o.format && promptTemplate == o.promptTemplate &&
               promptTemplateNoInput == o.promptTemplateNoInput && maxDocuments == o.maxDocuments;
    }
    bool operator!=(const DatasetOptions& o) const { return !(*this == o); }
};

struct Dataset {
    std::filesystem::path path;
    DataFormat format = DataFormat::Auto;  // the format actually read
    std::vector<int32_t> tokens;           // (N,) token ids, all documents back to back
    std::vector<int64_t> documentStarts;   // (D,) index in tokens where each document starts; [0] == 0
    int64_t documents() const { return static_cast<int64_t>(documentStarts.size()); }
};

// Reads a dataset. Formats that need a tokenizer throw ls::Error without one.
// Errors: missing/unreadable file, invalid UTF-8 (with byte offset), invalid JSON (with
// line), JSON of the wrong shape, missing or non-string fields (record index and field),
// empty dataset, bad .npy header/dtype/rank, odd-sized .bin, token ids outside
// [0, vocabSize) when vocabSize > 0 (first bad id and its index).
Dataset loadDataset(const std::filesystem::path& path, const Tokenizer* tokenizer, int32_t vocabSize,
                    const DatasetOptions& options = {});

// Format from the file's content (.npy magic; '[' or '{' starting JSON; WikiText headings)
// and name (.bin, .jsonl, .npy).
DataFormat detectFormat(const std::filesystem::path& path);

// Renders one Alpaca record through the template ({instruction}, {input}, {output}).
std::string renderPrompt(const std::string& tmpl, const std::string& instruction, const std::string& input,
                         const std::string& output);

// Reads a 1-D integer .npy file (format 1.0, 2.0 or 3.0): int32, int64, uint16, and any other
// little-endian integer dtype (uint8, int16, uint32, ...) whose values fit. Rejects, naming the
// file: floats, big-endian, rank != 1 (also (N, 1)), truncated data, values < 0 or > INT32_MAX.
std::vector<int32_t> readNpyTokenIds(const std::filesystem::path& path);

// Writes a 1-D int32 .npy file (used by tests and tools).
void writeNpyInt32(const std::filesystem::path& path, const std::vector<int32_t>& values);

// Reads a whole file as bytes; throws ls::Error if missing or unreadable.
std::string readFileBytes(const std::filesystem::path& path);

// Throws ls::Error(path, "invalid UTF-8 at byte N (line L): ...") if text is not strict UTF-8
// (RFC 3629: no overlongs, surrogates, code points above U+10FFFF or cut-off sequences).
// N is the 0-based offset of the bad sequence's first byte, L the 1-based line.
void requireValidUtf8(std::string_view text, const std::filesystem::path& path);

}  // namespace ls
