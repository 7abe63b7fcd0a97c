#pragma once
// What the per-format dataset readers share (core/data .cpp files only): file opening, line
// helpers, the DocumentWriter, each format's entry point. The public API is data/dataset.h.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"

namespace ls::dataset_readers {

inline constexpr std::string_view kNpyMagic = "\x93NUMPY";
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// ---- files (dataset.cpp) ---------------------------------------------------------------

// Throws ls::Error(path, ...) if the file is missing, a directory or unreadable.
std::ifstream openForReading(const std::filesystem::path& path);

// Size of a regular file, or -1 for other kinds (pipes, devices).
int64_t regularFileSize(const std::filesystem::path& path);

// ---- lines (text_documents.cpp) --------------------------------------------------------

// One line of a JSON Lines file (alpaca_records.cpp). Throws ls::Error(path, where + ": invalid
// JSON (...): <the parser's message>").
nlohmann::json jsonLine(std::string_view line, const std::filesystem::path& path, const std::string& where);

bool isBlank(std::string_view text);
std::string_view trimmed(std::string_view text);

// A WikiText article heading " = Title = "; a section heading " = = Title = = " is not one.
bool isWikiTextHeading(std::string_view line);

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

// ---- documents (dataset.cpp) -----------------------------------------------------------

// Encodes documents into a dataset, one after the other, up to maxDocuments.
class DocumentWriter {
public:
    DocumentWriter(Dataset& dataset, const Tokenizer& tokenizer, int64_t maxDocuments)
        : dataset_(dataset), tokenizer_(tokenizer), maxDocuments_(maxDocuments) {}

    bool full() const { return maxDocuments_ > 0 && dataset_.documents() >= maxDocuments_; }

    // Whitespace-only documents are skipped. Returns false once no more documents are wanted.
    bool add(std::string_view text, bool appendEos = false);

private:
    Dataset& dataset_;
    const Tokenizer& tokenizer_;
    int64_t maxDocuments_;
};

// ---- per-format readers ----------------------------------------------------------------
// The text-like ones get the file's text, BOM removed, already checked to be UTF-8.

// text_documents.cpp: plain text (paragraphs) and WikiText (articles).
void addTextParagraphs(std::string_view body, DocumentWriter& writer);
void addWikiTextArticles(std::string_view body, DocumentWriter& writer);

// alpaca_records.cpp: Alpaca JSON (an array of records) and JSONL (one record per line).
// requirePlaceholders throws ls::ParamError(key, ...) for a template that names no field.
void requirePlaceholders(const std::string& tmpl, const char* key);
void addAlpacaJson(std::string_view body, const DatasetOptions& options, const std::filesystem::path& path,
                   DocumentWriter& writer);
void addAlpacaJsonl(std::string_view body, const DatasetOptions& options, const std::filesystem::path& path,
                    DocumentWriter& writer);

// token_id_files.cpp: nanoGPT's .bin (the .npy reader and writer are public, in dataset.h).
std::vector<int32_t> readBinTokenIds(const std::filesystem::path& path);

}  // namespace ls::dataset_readers
