#pragma once
// Tokenizers of Hugging Face model folders, exact to the reference implementations:
//  - tokenizer.json with a BPE model: byte-level BPE (GPT-2, SmolLM2, Llama 3) and
//    sentencepiece-style BPE with byte fallback (Llama 2, TinyLlama);
//  - tokenizer.json with a WordLevel model (what `layerscope-cli train` writes);
//  - vocab.json + merges.txt (GPT-2 layout).
// Ids follow the Rust `tokenizers` library (what transformers' fast tokenizers run).
// A Tokenizer is cheap to copy and safe to use from several threads at once.
// Plain C++: no Qt, no LibTorch.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ls {

class Tokenizer {
public:
    // Looks in a model folder for tokenizer.json, else vocab.json + merges.txt.
    // Throws ls::Error naming the file and the problem.
    static Tokenizer fromModelDir(const std::filesystem::path& dir);
    static Tokenizer fromTokenizerJson(const std::filesystem::path& file);
    // The same from tokenizer.json's text; `file` names it in messages and its folder is
    // searched for tokenizer_config.json (bos/eos), as if the text had been read from it.
    static Tokenizer fromTokenizerJsonText(const std::string& text, const std::filesystem::path& file);
    static Tokenizer fromVocabAndMerges(const std::filesystem::path& vocabJson,
                                        const std::filesystem::path& mergesTxt);

    // Encodes UTF-8 text. addSpecialTokens applies the post-processor (e.g. Llama's BOS),
    // as `tokenizer(text)` does in the reference; false gives the bare ids.
    // Special/added tokens written in the text ("<|endoftext|>") are matched as such.
    // Throws ls::Error if the text is not valid UTF-8.
    std::vector<int32_t> encode(std::string_view text, bool addSpecialTokens = false) const;

    // Decodes ids back to text (special tokens included; ids not in the vocabulary are
    // skipped, as the reference does).
    std::string decode(const std::vector<int32_t>& ids) const;

    // The token's entry in the vocabulary as written there (e.g. "Ġthe", "▁the", "<0x0A>").
    std::string tokenString(int32_t id) const;
    // The text this single token stands for (e.g. " the", "\n"); bytes that are not
    // valid UTF-8 on their own come back as U+FFFD.
    std::string tokenText(int32_t id) const;

    // Number of ids the tokenizer can produce (max id + 1, including added tokens).
    int32_t vocabSize() const;
    std::optional<int32_t> bosId() const;
    std::optional<int32_t> eosId() const;
    std::optional<int32_t> tokenId(std::string_view tokenString) const;

    // Where it was loaded from (for messages).
    const std::filesystem::path& source() const;

    struct Impl;

private:
    explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
};

}  // namespace ls
