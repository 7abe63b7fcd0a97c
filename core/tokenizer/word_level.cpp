#include "tokenizer/word_level.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace ls {

std::string buildWordLevelTokenizerJson(std::string_view corpus, int topK) {
    if (topK < 1) throw Error("--word-vocab must be at least 1, got " + std::to_string(topK));
    // WhitespaceSplit splits on Unicode whitespace; the ASCII set covers the corpora
    // this builder is meant for, and any other separator just stays inside a word.
    auto isSpace = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
    std::unordered_map<std::string_view, int64_t> counts;
    size_t i = 0;
    while (i < corpus.size()) {
        while (i < corpus.size() && isSpace(corpus[i])) ++i;
        const size_t begin = i;
        while (i < corpus.size() && !isSpace(corpus[i])) ++i;
        if (i > begin) ++counts[corpus.substr(begin, i - begin)];
    }
    if (counts.empty()) throw Error("the corpus has no words to build a vocabulary from");

    std::vector<std::pair<std::string_view, int64_t>> ranked(counts.begin(), counts.end());
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (static_cast<int>(ranked.size()) > topK) ranked.resize(static_cast<size_t>(topK));

    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    vocab[kWordLevelUnknown] = 0;
    int id = 1;
    for (const auto& [w, n] : ranked)
        if (w != kWordLevelUnknown) vocab[std::string(w)] = id++;

    nlohmann::ordered_json j = {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens",
         {{{"id", 0}, {"content", kWordLevelUnknown}, {"single_word", false}, {"lstrip", false},
           {"rstrip", false}, {"normalized", false}, {"special", true}}}},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", false}}},
        {"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", kWordLevelUnknown}}}};
    return j.dump(2) + "\n";
}

}  // namespace ls
