#include "tokenizer/bpe.h"

#include <cstdio>
#include <queue>
#include <stdexcept>

#include "tokenizer/utf8.h"

namespace ls::tok {

namespace {

constexpr size_t kMaxCachedWordBytes = 256;   // long words are rare: not worth keeping
constexpr size_t kMaxCacheEntries = 1 << 20;  // then start over, to bound memory

uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

Bpe::Bpe(std::unordered_map<std::string, int32_t> vocab,
         const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
    int32_t maxId = -1;
    for (const auto& [token, id] : vocab_) {
        if (id < 0) throw std::runtime_error("token \"" + token + "\" has a negative id");
        maxId = std::max(maxId, id);
    }
    idToToken_.resize(static_cast<size_t>(maxId + 1));
    hasId_.resize(static_cast<size_t>(maxId + 1));
    for (const auto& [token, id] : vocab_) {
        idToToken_[static_cast<size_t>(id)] = token;
        hasId_[static_cast<size_t>(id)] = true;
    }

    const size_t prefixLength = options_.continuingSubwordPrefix ? options_.continuingSubwordPrefix->size() : 0;
    merges_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [a, b] = merges[rank];
        const auto describe = [&] { return "merge " + std::to_string(rank) + " \"" + a + " " + b + "\": "; };
        const auto ia = vocab_.find(a), ib = vocab_.find(b);
        if (ia == vocab_.end()) throw std::runtime_error(describe() + "\"" + a + "\" is not in the vocabulary");
        if (ib == vocab_.end()) throw std::runtime_error(describe() + "\"" + b + "\" is not in the vocabulary");
        // As in Rust: the right part loses the continuing-subword prefix when merged.
        const std::string merged = a + b.substr(std::min(prefixLength, b.size()));
        const auto im = vocab_.find(merged);
        if (im == vocab_.end()) throw std::runtime_error(describe() + "\"" + merged + "\" is not in the vocabulary");
        merges_[pairKey(ia->second, ib->second)] = {static_cast<uint32_t>(rank), im->second};
    }

    if (options_.unkToken) {
        const auto it = vocab_.find(*options_.unkToken);
        if (it != vocab_.end()) unkId_ = it->second;
    }
    byteIds_.assign(256, -1);
    if (options_.byteFallback) {
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            const auto it = vocab_.find(name);
            if (it != vocab_.end()) byteIds_[static_cast<size_t>(b)] = it->second;
        }
    }
}

std::optional<int32_t> Bpe::tokenToId(std::string_view token) const {
    const auto it = vocab_.find(std::string(token));
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* Bpe::idToToken(int32_t id) const {
    if (id < 0 || id >= idBound() || !hasId_[static_cast<size_t>(id)]) return nullptr;
    return &idToToken_[static_cast<size_t>(id)];
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (options_.ignoreMerges) {
        // Llama 3: a word that is a token as a whole is taken as is.
        if (const auto id = tokenToId(word)) {
            out.push_back(*id);
            return;
        }
    }
    const bool cacheable = word.size() <= kMaxCachedWordBytes;
    std::string key;
    if (cacheable) {
        key.assign(word);
        std::lock_guard<std::mutex> lock(cacheMutex_);
        const auto it = cache_.find(key);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids = merge(word);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cacheMutex_);
        if (cache_.size() >= kMaxCacheEntries) cache_.clear();
        cache_.emplace(std::move(key), std::move(ids));
    }
}

// tokenizers' BPE::merge_word + Word::merge_all.
std::vector<int32_t> Bpe::merge(std::string_view word) const {
    struct Symbol {
        int32_t id;
        int prev, next;
        bool alive;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    const auto add = [&](int32_t id) {
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({id, index - 1, -1, true});
        if (index > 0) symbols[static_cast<size_t>(index - 1)].next = index;
    };

    // 1. One symbol per character; unknown characters become bytes or the unk token.
    bool pendingUnk = false;  // an unk symbol not yet added (fuse_unk may extend it)
    const auto flushUnk = [&] {
        if (pendingUnk) add(*unkId_);
        pendingUnk = false;
    };
    std::string piece;
    size_t i = 0;
    while (i < word.size()) {
        const size_t start = i;
        utf8::next(word, i);
        piece.clear();
        if (start > 0 && options_.continuingSubwordPrefix) piece += *options_.continuingSubwordPrefix;
        piece.append(word.substr(start, i - start));
        if (i == word.size() && options_.endOfWordSuffix) piece += *options_.endOfWordSuffix;

        if (const auto it = vocab_.find(piece); it != vocab_.end()) {
            flushUnk();
            add(it->second);
            continue;
        }
        if (options_.byteFallback) {
            bool all = true;
            for (const char c : piece) all = all && byteIds_[static_cast<unsigned char>(c)] >= 0;
            if (all) {
                // Like Rust, bytes do not flush a pending unk: it is added after them.
                for (const char c : piece) add(byteIds_[static_cast<unsigned char>(c)]);
                continue;
            }
        }
        if (unkId_) {
            if (pendingUnk && !options_.fuseUnk) add(*unkId_);
            pendingUnk = true;
        }
        // No unk token: the character is dropped, as in Rust.
    }
    flushUnk();

    // 2. Apply merges, lowest rank first, leftmost first among equal ranks.
    struct Candidate {
        uint32_t rank;
        int pos;
        int32_t newId;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    const auto consider = [&](int left) {
        const int right = symbols[static_cast<size_t>(left)].next;
        if (right < 0) return;
        const auto it = merges_.find(pairKey(symbols[static_cast<size_t>(left)].id, symbols[static_cast<size_t>(right)].id));
        if (it != merges_.end()) queue.push({it->second.first, left, it->second.second});
    };
    for (int s = 0; s + 1 < static_cast<int>(symbols.size()); ++s) consider(s);

    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& left = symbols[static_cast<size_t>(top.pos)];
        if (!left.alive || left.next < 0) continue;
        Symbol& right = symbols[static_cast<size_t>(left.next)];
        // Skip entries made stale by earlier merges.
        const auto it = merges_.find(pairKey(left.id, right.id));
        if (it == merges_.end() || it->second.second != top.newId) continue;
        left.id = top.newId;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = top.pos;
        if (left.prev >= 0) consider(left.prev);
        consider(top.pos);
    }

    std::vector<int32_t> ids;
    for (const Symbol& s : symbols)
        if (s.alive) ids.push_back(s.id);
    return ids;
}

}  // namespace ls::tok
