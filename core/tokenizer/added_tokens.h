#pragma once
// Added tokens (specials such as "<|endoftext|>", "<s>", "<|im_start|>"): found in the text
// before anything else and given their own id, as tokenizers' AddedVocabulary does.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ls::tok {

class Normalizer;

struct AddedToken {
    std::string content;
    int32_t id = -1;
    bool special = false;
    bool singleWord = false;  // only match when not inside a word
    bool lstrip = false;      // swallow the whitespace before it
    bool rstrip = false;      // swallow the whitespace after it
    bool normalized = false;  // matched in the normalized text (else in the raw text)
};

// A stretch of the input: an added token (id >= 0) or normalized text to pre-tokenize.
struct Segment {
    std::string text;
    int32_t id = -1;
    bool atStart = false;  // begins at the start of the input
};

class AddedVocabulary {
public:
    AddedVocabulary() = default;
    // Normalized tokens are looked for in their normalized form, hence the normalizer.
    AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

    // tokenizers' extract_and_normalize: split out the raw-text tokens, normalize what is
    // left, split out the normalized tokens. Empty segments are dropped.
    std::vector<Segment> extractAndNormalize(std::string_view text, const Normalizer* normalizer) const;

    const std::vector<AddedToken>& tokens() const { return tokens_; }
    const AddedToken* byContent(std::string_view content) const;
    const AddedToken* byId(int32_t id) const;

private:
    // A byte trie over some tokens' contents, for leftmost-longest matching.
    struct Trie {
        struct Node {
            std::vector<std::pair<unsigned char, int>> children;
            int token = -1;  // index into tokens_ of the token ending here
        };
        std::vector<Node> nodes{Node{}};
        bool firstByte[256] = {};
        void insert(std::string_view key, int token);
        // Longest token starting at text[at]: (token index, length), or token -1.
        std::pair<int, size_t> longestAt(std::string_view text, size_t at) const;
    };

    std::vector<Segment> split(const Segment& segment, const Trie& trie) const;

    std::vector<AddedToken> tokens_;
    Trie raw_, normalized_;
    std::unordered_map<std::string, size_t> byContent_;
    std::unordered_map<int32_t, size_t> byId_;
};

}  // namespace ls::tok
