#pragma once
// Prompts for generation (`layerscope-cli generate --prompts FILE`, the GUI's Generation tab).
// Formats, by content:
//   .npy                      one prompt of token ids (1-D integer array)
//   JSONL, {"ids": [...]}     one prompt of token ids per line
//   JSONL, {"prompt": "..."}  one text prompt per line (needs the model's tokenizer)
//   anything else             UTF-8 text, one prompt per non-blank line (needs the tokenizer)
// Blank lines are skipped in every line format.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ls {

class Tokenizer;

struct Prompt {
    std::string text;          // as given; empty for token-id prompts
    std::vector<int32_t> ids;  // what the model reads
};

// Throws ls::Error naming the file and the problem: unreadable, invalid UTF-8 or JSON (with
// its line), a record without "prompt" or "ids", an id outside [0, vocabSize), an empty prompt,
// a text prompt without a tokenizer, no prompt at all.
std::vector<Prompt> loadPrompts(const std::filesystem::path& path, const Tokenizer* tokenizer, int32_t vocabSize);

// A pair of prompts for activation patching (analysis/patching.h): clean and corrupted of the
// same length, and the two tokens whose logit difference is the metric.
struct PromptPair {
    std::string cleanText, corruptedText;  // as given; empty for token ids
    std::vector<int32_t> clean, corrupted;
    int32_t answer = 0, wrong = 0;
    std::filesystem::path file;  // where it was read (messages); empty for pairs made in memory
    int64_t line = 0;            // in the file, from 1
};

// JSONL, one pair per line: {"clean": TEXT or [ids], "corrupted": ..., "answer": TEXT or id,
// "wrong": ...}; a text answer must be one token (a leading space is kept: " Paris"). Blank lines
// are skipped. Every prompt of the file must have the same number of tokens (positions are
// averaged over the pairs). Throws ls::Error naming the file, the line and the problem.
std::vector<PromptPair> loadPromptPairs(const std::filesystem::path& path, const Tokenizer* tokenizer, int32_t vocabSize);

// Window `index` (from 0) of a dataset, as the layer analyses window it, as a prompt of ids (the
// microscope on a window). Throws ls::ParamError("window", ...) past the last window.
struct Dataset;
struct WindowParams;
Prompt windowPrompt(const Dataset& data, const WindowParams& params, int64_t index);

// Prompts typed in (the GUI): one per non-blank line, tokenized; without a tokenizer, token ids
// separated by spaces. Throws ls::Error when no line holds a prompt, a line holds no tokens, or
// (without a tokenizer) a line is not ids inside [0, vocabSize).
std::vector<Prompt> promptsFromLines(const std::string& text, const Tokenizer* tokenizer, int32_t vocabSize);

}  // namespace ls
