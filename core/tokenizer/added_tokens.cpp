#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "common/utf8.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode_props.h"

namespace ls::tok {

namespace {

// Byte length of the whitespace that ends `text` / starts `text`.
size_t trailingSpace(std::string_view text) {
    size_t i = 0, lastEnd = 0;
    while (i < text.size()) {
        if (!isWhitespace(utf8::next(text, i))) lastEnd = i;
    }
    return text.size() - lastEnd;
}

size_t leadingSpace(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        size_t next = i;
        if (!isWhitespace(utf8::next(text, next))) break;
        i = next;
    }
    return i;
}

// The character that ends `text`, if any.
std::optional<char32_t> lastChar(std::string_view text) {
    if (text.empty()) return std::nullopt;
    size_t start = text.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    return utf8::next(text, start);
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view key, int token) {
    if (key.empty()) return;  // tokenizers ignores empty added tokens
    int node = 0;
    for (const char ch : key) {
        const auto c = static_cast<unsigned char>(ch);
        int child = -1;
        for (const auto& [label, index] : nodes[static_cast<size_t>(node)].children)
            if (label == c) child = index;
        if (child < 0) {
            child = static_cast<int>(nodes.size());
            nodes[static_cast<size_t>(node)].children.emplace_back(c, child);
            nodes.emplace_back();
        }
        node = child;
    }
    firstByte[static_cast<unsigned char>(key[0])] = true;
    if (nodes[static_cast<size_t>(node)].token < 0) nodes[static_cast<size_t>(node)].token = token;
}

std::pair<int, size_t> AddedVocabulary::Trie::longestAt(std::string_view text, size_t at) const {
    std::pair<int, size_t> best{-1, 0};
    int node = 0;
    for (size_t i = at; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        int child = -1;
        for (const auto& [label, index] : nodes[static_cast<size_t>(node)].children)
            if (label == c) child = index;
        if (child < 0) break;
        node = child;
        if (nodes[static_cast<size_t>(node)].token >= 0) best = {nodes[static_cast<size_t>(node)].token, i + 1 - at};
    }
    return best;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
    for (size_t k = 0; k < tokens_.size(); ++k) {
        const AddedToken& t = tokens_[k];
        byContent_.emplace(t.content, k);
        byId_[t.id] = k;
        if (t.normalized && normalizer) {
            std::string form = t.content;
            normalizer->normalize(form);
            normalized_.insert(form, static_cast<int>(k));
        } else if (t.normalized) {
            normalized_.insert(t.content, static_cast<int>(k));
        } else {
            raw_.insert(t.content, static_cast<int>(k));
        }
    }
}

const AddedToken* AddedVocabulary::byContent(std::string_view content) const {
    const auto it = byContent_.find(std::string(content));
    return it == byContent_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::byId(int32_t id) const {
    const auto it = byId_.find(id);
    return it == byId_.end() ? nullptr : &tokens_[it->second];
}

// tokenizers' AddedVocabulary::find_matches + split_with_indices.
std::vector<Segment> AddedVocabulary::split(const Segment& segment, const Trie& trie) const {
    const std::string_view text = segment.text;
    std::vector<Segment> out;
    const auto push = [&](size_t begin, size_t end, int32_t id) {
        if (begin < end) out.push_back({std::string(text.substr(begin, end - begin)), id, segment.atStart && begin == 0});
    };
    size_t startOffset = 0;  // end of the last accepted match
    size_t pos = 0;          // where the search goes on (end of the last match found)
    while (pos < text.size()) {
        if (!trie.firstByte[static_cast<unsigned char>(text[pos])]) {
            ++pos;
            continue;
        }
        const auto [index, length] = trie.longestAt(text, pos);
        if (index < 0) {
            ++pos;
            continue;
        }
        size_t start = pos, stop = pos + length;
        pos = stop;
        const AddedToken& token = tokens_[static_cast<size_t>(index)];
        if (token.singleWord) {
            // Not when glued to a word character on either side.
            const auto before = lastChar(text.substr(0, start));
            size_t after = stop;
            const bool wordBefore = before && isWordChar(*before);
            const bool wordAfter = stop < text.size() && isWordChar(utf8::next(text, after));
            if (wordBefore || wordAfter) continue;
        }
        if (token.lstrip) start = std::max(start - trailingSpace(text.substr(0, start)), startOffset);
        if (token.rstrip) stop += leadingSpace(text.substr(stop));
        push(startOffset, start, -1);
        push(start, stop, token.id);
        startOffset = stop;
    }
    push(startOffset, text.size(), -1);
    return out;
}

std::vector<Segment> AddedVocabulary::extractAndNormalize(std::string_view text, const Normalizer* normalizer) const {
    std::vector<Segment> out;
    for (Segment& segment : split(Segment{std::string(text), -1, true}, raw_)) {
        if (segment.id >= 0) {
            out.push_back(std::move(segment));
            continue;
        }
        if (normalizer) normalizer->normalize(segment.text);
        for (Segment& piece : split(segment, normalized_)) out.push_back(std::move(piece));
    }
    return out;
}

}  // namespace ls::tok
