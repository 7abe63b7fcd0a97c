#pragma once
// The model step of tokenizer.json: a vocabulary, and how one pre-tokenized word becomes ids.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ls::tok {

class Vocabulary {
public:
    Vocabulary() = default;
    // Throws std::runtime_error for a negative id.
    explicit Vocabulary(std::unordered_map<std::string, int32_t> tokens);

    std::optional<int32_t> id(std::string_view token) const;
    // The token of an id, or nullptr if there is no such id.
    const std::string* token(int32_t id) const;
    // Max id + 1.
    int32_t idBound() const { return static_cast<int32_t>(tokens_.size()); }
    const std::unordered_map<std::string, int32_t>& ids() const { return ids_; }

private:
    std::unordered_map<std::string, int32_t> ids_;
    std::vector<std::string> tokens_;
    std::vector<bool> present_;
};

class Model {
public:
    virtual ~Model() = default;
    // Appends the ids of one pre-tokenized word. Thread-safe.
    virtual void tokenize(std::string_view word, std::vector<int32_t>& out) const = 0;
    virtual const Vocabulary& vocabulary() const = 0;
};

// WordLevel: each word is a token, or the unknown token.
class WordLevel final : public Model {
public:
    // Throws std::runtime_error if the unknown token is not in the vocabulary.
    WordLevel(Vocabulary vocab, const std::string& unkToken);
    void tokenize(std::string_view word, std::vector<int32_t>& out) const override;
    const Vocabulary& vocabulary() const override { return vocab_; }

private:
    Vocabulary vocab_;
    int32_t unkId_;
};

}  // namespace ls::tok
