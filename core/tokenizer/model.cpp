#include "tokenizer/model.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ls::tok {

Vocabulary::Vocabulary(std::unordered_map<std::string, int32_t> tokens) : ids_(std::move(tokens)) {
    int32_t maxId = -1;
    for (const auto& [token, id] : ids_) {
        if (id < 0) throw std::runtime_error("token \"" + token + "\" has a negative id");
        maxId = std::max(maxId, id);
    }
    // Ids index a table: refuse absurd or very sparse ones rather than allocate gigabytes
    // (real vocabularies number their tokens 0..N-1, with a few gaps at most).
    if (maxId >= (1 << 26))
        throw std::runtime_error("token id " + std::to_string(maxId) + " is implausibly large");
    if (maxId >= 2 * static_cast<int64_t>(ids_.size()) + (1 << 20))
        throw std::runtime_error("token id " + std::to_string(maxId) + " is implausibly large for a vocabulary of " +
                                 std::to_string(ids_.size()) + " tokens");
    tokens_.resize(static_cast<size_t>(maxId + 1));
    present_.resize(static_cast<size_t>(maxId + 1));
    for (const auto& [token, id] : ids_) {
        tokens_[static_cast<size_t>(id)] = token;
        present_[static_cast<size_t>(id)] = true;
    }
}

std::optional<int32_t> Vocabulary::id(std::string_view token) const {
    const auto it = ids_.find(std::string(token));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
}

const std::string* Vocabulary::token(int32_t id) const {
    if (id < 0 || id >= idBound() || !present_[static_cast<size_t>(id)]) return nullptr;
    return &tokens_[static_cast<size_t>(id)];
}

WordLevel::WordLevel(Vocabulary vocab, const std::string& unkToken) : vocab_(std::move(vocab)) {
    const auto unk = vocab_.id(unkToken);
    if (!unk) throw std::runtime_error("the unknown token \"" + unkToken + "\" is not in the vocabulary");
    unkId_ = *unk;
}

void WordLevel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    out.push_back(vocab_.id(word).value_or(unkId_));
}

}  // namespace ls::tok
