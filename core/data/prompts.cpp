// Prompt files for generation: token ids (.npy, JSONL "ids") or text (JSONL "prompt", lines).
#include "data/prompts.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "data/dataset.h"
#include "data/windows.h"
#include "data/dataset_readers_internal.h"
#include "tokenizer/tokenizer.h"

namespace ls {

namespace {

using nlohmann::json;
using dataset_readers::forEachLine;
using dataset_readers::isBlank;
using dataset_readers::jsonLine;
using dataset_readers::trimmed;

std::vector<int32_t> tokenized(const std::string& text, const Tokenizer* tokenizer, const std::filesystem::path& path,
                               const std::string& where) {
    if (!tokenizer)
        throw Error(path, where + " is text, but the model has no tokenizer: give token ids instead (.npy, or JSONL "
                              "lines {\"ids\": [...]})");
    std::vector<int32_t> ids = tokenizer->encode(text);
    if (ids.empty()) throw Error(path, where + " has no tokens");
    return ids;
}

void checkIds(const std::vector<int32_t>& ids, int32_t vocabSize, const std::filesystem::path& path, const std::string& where) {
    if (ids.empty()) throw Error(path, where + " has no token ids");
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || (vocabSize > 0 && ids[i] >= vocabSize))
            throw Error(path, where + ": token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                                  " is outside the vocabulary (0.." + std::to_string(vocabSize - 1) + ")");
}

// A JSON array of token ids (record[key]), checked against the vocabulary.
std::vector<int32_t> idsOfArray(const json& value, const std::string& key, int32_t vocabSize, const std::filesystem::path& path,
                                const std::string& where) {
    if (!value.is_array()) throw Error(path, where + ": \"" + key + "\" is not an array of token ids");
    std::vector<int32_t> ids;
    for (const json& id : value) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
            throw Error(path, where + ": \"" + key + "\" holds " + id.dump() + ", not a token id");
        ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
    checkIds(ids, vocabSize, path, where + " (\"" + key + "\")");
    return ids;
}

Prompt promptOfRecord(const std::string& line, int64_t lineNumber, const Tokenizer* tokenizer, int32_t vocabSize,
                      const std::filesystem::path& path) {
    const std::string where = "line " + std::to_string(lineNumber);
    const json record = jsonLine(line, path, where);
    if (!record.is_object()) throw Error(path, where + " is not a JSON object");
    Prompt p;
    if (record.contains("ids")) {
        p.ids = idsOfArray(record["ids"], "ids", vocabSize, path, where);
    } else if (record.contains("prompt")) {
        if (!record["prompt"].is_string()) throw Error(path, where + ": \"prompt\" is not a string");
        p.text = record["prompt"].get<std::string>();
        p.ids = tokenized(p.text, tokenizer, path, where);
    } else {
        throw Error(path, where + " has neither \"prompt\" (text) nor \"ids\" (token ids)");
    }
    return p;
}

// A line without its "\n" or "\r\n".
std::string withoutNewline(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    return std::string(line);
}

}  // namespace

std::vector<Prompt> loadPrompts(const std::filesystem::path& path, const Tokenizer* tokenizer, int32_t vocabSize) {
    if (detectFormat(path) == DataFormat::Npy) {
        Prompt p;
        p.ids = readNpyTokenIds(path);
        checkIds(p.ids, vocabSize, path, "the prompt");
        return {p};
    }
    const std::string body = readFileBytes(path);
    requireValidUtf8(body, path);
    const std::string_view first = trimmed(body);
    const bool jsonl = !first.empty() && first.front() == '{';
    std::vector<Prompt> prompts;
    int64_t lineNumber = 0;
    forEachLine(body, [&](std::string_view line) {
        ++lineNumber;
        if (isBlank(line)) return true;
        if (jsonl) {
            prompts.push_back(promptOfRecord(withoutNewline(line), lineNumber, tokenizer, vocabSize, path));
        } else {
            Prompt p;
            p.text = withoutNewline(line);
            p.ids = tokenized(p.text, tokenizer, path, "line " + std::to_string(lineNumber));
            checkIds(p.ids, vocabSize, path, "line " + std::to_string(lineNumber));
            prompts.push_back(std::move(p));
        }
        return true;
    });
    if (prompts.empty()) throw Error(path, "holds no prompt (every line is blank)");
    return prompts;
}

namespace {

// A pair's prompt: a string (tokenized) or an array of ids.
std::vector<int32_t> pairPrompt(const json& record, const char* key, const Tokenizer* tokenizer, int32_t vocabSize,
                                const std::filesystem::path& path, const std::string& where, std::string& text) {
    if (!record.contains(key)) throw Error(path, where + " has no \"" + key + "\"");
    const json& value = record[key];
    if (value.is_string()) {
        text = value.get<std::string>();
        std::vector<int32_t> ids = tokenized(text, tokenizer, path, where + " (\"" + key + "\")");
        checkIds(ids, vocabSize, path, where);
        return ids;
    }
    if (!value.is_array()) throw Error(path, where + ": \"" + key + "\" is neither text nor an array of token ids");
    return idsOfArray(value, key, vocabSize, path, where);
}

// A pair's answer or wrong token: one token of text, or an id.
int32_t pairToken(const json& record, const char* key, const Tokenizer* tokenizer, int32_t vocabSize,
                  const std::filesystem::path& path, const std::string& where) {
    if (!record.contains(key)) throw Error(path, where + " has no \"" + key + "\"");
    const json& value = record[key];
    std::vector<int32_t> ids;
    if (value.is_string()) {
        ids = tokenized(value.get<std::string>(), tokenizer, path, where + " (\"" + key + "\")");
        if (ids.size() != 1)
            throw Error(path, where + ": \"" + key + "\" is " + std::to_string(ids.size()) + " tokens, not one: " + value.dump() +
                                  " (write its token id instead, or a text that is a single token)");
    } else if (value.is_number_integer() && value.get<int64_t>() >= 0 && value.get<int64_t>() <= INT32_MAX) {
        ids = {static_cast<int32_t>(value.get<int64_t>())};
    } else {
        throw Error(path, where + ": \"" + key + "\" is neither a token's text nor a token id");
    }
    checkIds(ids, vocabSize, path, where + " (\"" + key + "\")");
    return ids.front();
}

}  // namespace

std::vector<PromptPair> loadPromptPairs(const std::filesystem::path& path, const Tokenizer* tokenizer, int32_t vocabSize) {
    const std::string body = readFileBytes(path);
    requireValidUtf8(body, path);
    std::vector<PromptPair> pairs;
    int64_t lineNumber = 0;
    forEachLine(body, [&](std::string_view line) {
        ++lineNumber;
        if (isBlank(line)) return true;
        const std::string where = "line " + std::to_string(lineNumber);
        const json record = jsonLine(line, path, where);
        if (!record.is_object())
            throw Error(path, where + " is not a JSON object {\"clean\", \"corrupted\", \"answer\", \"wrong\"}");
        PromptPair p;
        p.file = path;
        p.line = lineNumber;
        p.clean = pairPrompt(record, "clean", tokenizer, vocabSize, path, where, p.cleanText);
        p.corrupted = pairPrompt(record, "corrupted", tokenizer, vocabSize, path, where, p.corruptedText);
        p.answer = pairToken(record, "answer", tokenizer, vocabSize, path, where);
        p.wrong = pairToken(record, "wrong", tokenizer, vocabSize, path, where);
        if (p.clean.size() != p.corrupted.size())
            throw Error(path, where + ": the clean prompt has " + std::to_string(p.clean.size()) + " tokens and the corrupted " +
                                  std::to_string(p.corrupted.size()) + "; patching needs the same length");
        if (!pairs.empty() && p.clean.size() != pairs.front().clean.size())
            throw Error(path, where + ": its prompts have " + std::to_string(p.clean.size()) + " tokens, those of line " +
                                  std::to_string(pairs.front().line) + " " + std::to_string(pairs.front().clean.size()) +
                                  "; every pair of a file needs the same length (positions are averaged over the pairs)");
        if (p.answer == p.wrong) throw Error(path, where + ": \"answer\" and \"wrong\" are the same token");
        pairs.push_back(std::move(p));
        return true;
    });
    if (pairs.empty()) throw Error(path, "holds no prompt pair (every line is blank)");
    return pairs;
}

Prompt windowPrompt(const Dataset& data, const WindowParams& params, int64_t index) {
    const std::vector<Window> windows = makeWindows(static_cast<int64_t>(data.tokens.size()), data.documentStarts, params);
    if (index < 0 || index >= static_cast<int64_t>(windows.size()))
        throw ParamError("window", "the dataset has " + std::to_string(windows.size()) + " windows (0.." +
                                       std::to_string(static_cast<int64_t>(windows.size()) - 1) + "), not " + std::to_string(index));
    const Window& w = windows[static_cast<size_t>(index)];
    Prompt p;
    p.ids.assign(data.tokens.begin() + w.begin, data.tokens.begin() + w.begin + w.length);
    return p;
}

std::vector<Prompt> promptsFromLines(const std::string& text, const Tokenizer* tokenizer, int32_t vocabSize) {
    std::vector<Prompt> prompts;
    int64_t lineNumber = 0;
    forEachLine(text, [&](std::string_view line) {
        ++lineNumber;
        if (isBlank(line)) return true;
        const std::string where = "prompt line " + std::to_string(lineNumber);
        Prompt p;
        if (tokenizer) {
            p.text = withoutNewline(line);
            p.ids = tokenizer->encode(p.text);
            if (p.ids.empty()) throw Error(where + " has no tokens");
        } else {  // token ids
            std::istringstream in{std::string(line)};
            std::string item;
            while (in >> item) {
                if (item.size() > 10 || item.find_first_not_of("0123456789") != std::string::npos)
                    throw Error(where + ": '" + item + "' is not a token id (the model has no tokenizer: write ids "
                                        "separated by spaces)");
                const int64_t id = std::stoll(item);
                if (vocabSize > 0 && id >= vocabSize)
                    throw Error(where + ": token id " + item + " is outside the vocabulary (0.." +
                                std::to_string(vocabSize - 1) + ")");
                p.ids.push_back(static_cast<int32_t>(id));
            }
        }
        prompts.push_back(std::move(p));
        return true;
    });
    if (prompts.empty()) throw Error("no prompt given: write one per line");
    return prompts;
}

}  // namespace ls
