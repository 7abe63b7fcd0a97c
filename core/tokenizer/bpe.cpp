#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <stdexcept>

#include "common/utf8.h"

namespace ls::tok {

namespace {

constexpr size_t kMaxCachedWordBytes = 256;   // long words are rare: not worth keeping
constexpr size_t kMaxCacheEntries = 1 << 20;  // then start over, to bound memory

constexpr char32_t kSmallChars = 0x250;
constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // "▁"

uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

size_t slotOf(uint64_t key, size_t mask) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask; }

}  // namespace

Bpe::Bpe(Vocabulary vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
    const auto& ids = vocab_.ids();
    const size_t prefixLength = options_.continuingSubwordPrefix ? options_.continuingSubwordPrefix->size() : 0;
    size_t capacity = 16;
    while (capacity < 2 * merges.size()) capacity *= 2;
    mergeTable_.assign(capacity, Merge{});
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const std::string& a = merges[rank].first;  // not a structured binding: lambdas capture it
        const std::string& b = merges[rank].second;
        const auto describe = [&] { return "merge " + std::to_string(rank) + " \"" + a + " " + b + "\": "; };
        const auto ia = ids.find(a), ib = ids.find(b);
        if (ia == ids.end()) throw std::runtime_error(describe() + "\"" + a + "\" is not in the vocabulary");
        if (ib == ids.end()) throw std::runtime_error(describe() + "\"" + b + "\" is not in the vocabulary");
        // As in Rust: the right part loses the continuing-subword prefix when merged.
        const std::string merged = a + b.substr(std::min(prefixLength, b.size()));
        const auto im = ids.find(merged);
        if (im == ids.end()) throw std::runtime_error(describe() + "\"" + merged + "\" is not in the vocabulary");
        // A repeated pair keeps its last rank, as Rust's HashMap collect does.
        const uint64_t key = pairKey(ia->second, ib->second);
        size_t slot = slotOf(key, capacity - 1);
        while (mergeTable_[slot].pair != kEmpty && mergeTable_[slot].pair != key) slot = (slot + 1) & (capacity - 1);
        mergeTable_[slot] = {key, static_cast<uint32_t>(rank), im->second};
    }

    // Sentencepiece-style files have no pre-tokenizer: a whole text is one word, and merging
    // it at once is slow and uncacheable. If no merged token has a "▁" right after another
    // character, no merge can ever join a "▁" to what precedes it, so cutting the word before
    // such a "▁" and merging the parts on their own gives exactly the same tokens.
    cutBeforeMetaspace_ = !options_.continuingSubwordPrefix && !options_.endOfWordSuffix &&
                          ids.count(std::string(kMetaspace)) > 0;
    for (size_t rank = 0; rank < merges.size() && cutBeforeMetaspace_; ++rank) {
        const std::string merged = merges[rank].first + merges[rank].second;
        for (size_t at = merged.find(kMetaspace, 1); at != std::string::npos; at = merged.find(kMetaspace, at + 1))
            if (at < kMetaspace.size() || merged.compare(at - kMetaspace.size(), kMetaspace.size(), kMetaspace) != 0)
                cutBeforeMetaspace_ = false;
    }

    smallCharIds_.assign(kSmallChars, -1);
    for (char32_t c = 0; c < kSmallChars; ++c) {
        if (const auto id = vocab_.id(utf8::encode(c))) smallCharIds_[c] = *id;
    }

    if (options_.unkToken) unkId_ = vocab_.id(*options_.unkToken);
    byteIds_.assign(256, -1);
    if (options_.byteFallback) {
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            if (const auto id = vocab_.id(name)) byteIds_[static_cast<size_t>(b)] = *id;
        }
    }
}

const Bpe::Merge* Bpe::findMerge(int32_t left, int32_t right) const {
    const uint64_t key = pairKey(left, right);
    const size_t mask = mergeTable_.size() - 1;
    for (size_t slot = slotOf(key, mask);; slot = (slot + 1) & mask) {
        const Merge& m = mergeTable_[slot];
        if (m.pair == key) return &m;
        if (m.pair == kEmpty) return nullptr;
    }
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (options_.ignoreMerges) {
        // Llama 3: a word that is a token as a whole is taken as is.
        if (const auto id = vocab_.id(word)) {
            out.push_back(*id);
            return;
        }
    }
    if (!cutBeforeMetaspace_) return mergeCached(word, out);
    size_t start = 0;
    for (size_t at = word.find(kMetaspace, 1); at != std::string_view::npos; at = word.find(kMetaspace, at + 1)) {
        const bool afterMetaspace = at >= kMetaspace.size() && word.substr(at - kMetaspace.size(), kMetaspace.size()) == kMetaspace;
        if (afterMetaspace || at == start) continue;
        mergeCached(word.substr(start, at - start), out);
        start = at;
    }
    mergeCached(word.substr(start), out);
}

void Bpe::mergeCached(std::string_view word, std::vector<int32_t>& out) const {
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
    const bool plainChars = !options_.continuingSubwordPrefix && !options_.endOfWordSuffix;
    std::string piece;
    size_t i = 0;
    while (i < word.size()) {
        const size_t start = i;
        const char32_t c = utf8::next(word, i);
        if (plainChars && c < kSmallChars && smallCharIds_[c] >= 0) {
            flushUnk();
            add(smallCharIds_[c]);
            continue;
        }
        piece.clear();
        if (start > 0 && options_.continuingSubwordPrefix) piece += *options_.continuingSubwordPrefix;
        piece.append(word.substr(start, i - start));
        if (i == word.size() && options_.endOfWordSuffix) piece += *options_.endOfWordSuffix;

        if (const auto id = vocab_.id(piece)) {
            flushUnk();
            add(*id);
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
        if (const Merge* m = findMerge(symbols[static_cast<size_t>(left)].id, symbols[static_cast<size_t>(right)].id))
            queue.push({m->rank, left, m->newId});
    };
    for (int s = 0; s + 1 < static_cast<int>(symbols.size()); ++s) consider(s);

    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& left = symbols[static_cast<size_t>(top.pos)];
        if (!left.alive || left.next < 0) continue;
        Symbol& right = symbols[static_cast<size_t>(left.next)];
        // Skip entries made stale by earlier merges.
        const Merge* m = findMerge(left.id, right.id);
        if (!m || m->newId != top.newId) continue;
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
