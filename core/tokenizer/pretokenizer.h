#pragma once
// Pre-tokenizers of tokenizer.json: cut normalized text into the words the BPE model sees,
// exactly as the Rust `tokenizers` library does (Sequence, Split, Digits, ByteLevel,
// Metaspace, Whitespace, WhitespaceSplit).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/icu_regex.h"

namespace ls::tok {

struct Piece {
    std::string text;
    // True if the piece begins where the input text (or its first section) begins:
    // Metaspace's prepend_scheme "first" only adds its "▁" there.
    bool atStart = false;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Replaces the pieces by their sub-pieces; empty pieces are dropped.
    virtual void apply(std::vector<Piece>& pieces) const = 0;
};

// nullptr for a JSON null. Throws std::runtime_error naming an unsupported type or option.
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& config);
// Same from JSON text (for tests).
std::unique_ptr<PreTokenizer> makePreTokenizer(std::string_view jsonText);

// The GPT-2 pattern used by ByteLevel(use_regex = true).
const Regex& gpt2Regex();

// The byte-level alphabet (GPT-2's bytes_to_unicode): byte -> UTF-8 of its stand-in char.
const std::string& byteLevelChar(unsigned char byte);
// Inverse: code point -> byte, or -1 for chars outside the alphabet.
int byteLevelByte(char32_t cp);

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// The kept ranges of a text of `size` bytes cut at `matches` (sorted, non-overlapping),
// following tokenizers' NormalizedString::split; `invert` swaps matches and the rest.
std::vector<ByteRange> splitRanges(size_t size, const std::vector<ByteRange>& matches,
                                   SplitBehavior behavior, bool invert = false);

}  // namespace ls::tok
