#pragma once
// The BPE model of the Rust `tokenizers` library: vocabulary, ranked merges, byte
// fallback, unknown-token fusing, ignore_merges, and a cache of the words already seen.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ls::tok {

struct BpeOptions {
    std::optional<std::string> unkToken;
    std::optional<std::string> continuingSubwordPrefix;
    std::optional<std::string> endOfWordSuffix;
    bool fuseUnk = false;
    bool byteFallback = false;
    bool ignoreMerges = false;
};

class Bpe {
public:
    // Throws std::runtime_error if a merge or the unk token is not in the vocabulary.
    Bpe(std::unordered_map<std::string, int32_t> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
        BpeOptions options);

    // Appends the ids of one pre-tokenized word.
    void tokenize(std::string_view word, std::vector<int32_t>& out) const;

    std::optional<int32_t> tokenToId(std::string_view token) const;
    // The token of an id, or nullptr if the vocabulary has no such id.
    const std::string* idToToken(int32_t id) const;
    // Max id + 1.
    int32_t idBound() const { return static_cast<int32_t>(idToToken_.size()); }

private:
    std::vector<int32_t> merge(std::string_view word) const;

    std::unordered_map<std::string, int32_t> vocab_;
    std::vector<std::string> idToToken_;
    std::vector<bool> hasId_;
    // (left id, right id) -> (rank, merged id)
    std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges_;
    BpeOptions options_;
    std::optional<int32_t> unkId_;
    std::vector<int32_t> byteIds_;  // id of "<0xNN>" per byte, -1 if missing (byte fallback)

    mutable std::mutex cacheMutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace ls::tok
