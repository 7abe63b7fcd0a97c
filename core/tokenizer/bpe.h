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

#include "tokenizer/model.h"

namespace ls::tok {

struct BpeOptions {
    std::optional<std::string> unkToken;
    std::optional<std::string> continuingSubwordPrefix;
    std::optional<std::string> endOfWordSuffix;
    bool fuseUnk = false;
    bool byteFallback = false;
    bool ignoreMerges = false;
};

class Bpe final : public Model {
public:
    // Throws std::runtime_error if a merge is not in the vocabulary.
    Bpe(Vocabulary vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

    void tokenize(std::string_view word, std::vector<int32_t>& out) const override;
    const Vocabulary& vocabulary() const override { return vocab_; }

private:
    // BPE of a word through the cache.
    void mergeCached(std::string_view word, std::vector<int32_t>& out) const;
    std::vector<int32_t> merge(std::string_view word) const;

    Vocabulary vocab_;
    // (left id, right id) -> (rank, merged id), in an open-addressing table: the lookup
    // in the innermost loop of merging.
    struct Merge {
        uint64_t pair = kEmpty;
        uint32_t rank = 0;
        int32_t newId = -1;
    };
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    std::vector<Merge> mergeTable_;
    const Merge* findMerge(int32_t left, int32_t right) const;
    // Id of each single-character token below U+0250 (byte-level alphabets live there), -1 if none.
    std::vector<int32_t> smallCharIds_;
    BpeOptions options_;
    std::optional<int32_t> unkId_;
    std::vector<int32_t> byteIds_;  // id of "<0xNN>" per byte, -1 if missing (byte fallback)
    // Words may be cut before each "▁" that follows another character (see the constructor).
    bool cutBeforeMetaspace_ = false;

    mutable std::mutex cacheMutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace ls::tok
