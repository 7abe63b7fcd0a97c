#pragma once
// Pre-tokenizers of tokenizer.json: cut normalized text into the words the BPE model sees,
// exactly as the Rust `tokenizers` library does (Sequence, Split, Digits, ByteLevel,
// Metaspace, Whitespace, WhitespaceSplit).
//
// Pieces are streamed: each word goes on to the next step (and finally to the model) as soon
// as it is cut, so a large text never exists as millions of pieces at once.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/icu_regex.h"

namespace ls::tok {

struct Piece {
    std::string text;
    // True if the piece begins where the input text begins: Metaspace's prepend_scheme
    // "first" only adds its "▁" there.
    bool atStart = false;
};

using PieceSink = std::function<void(Piece&&)>;

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Cuts `piece` and hands each non-empty sub-piece, in order, to `sink`.
    virtual void split(Piece piece, const PieceSink& sink) const = 0;

    // All sub-pieces at once (for tests).
    std::vector<Piece> pieces(Piece piece) const;
};

// nullptr for a JSON null. Throws std::runtime_error naming an unsupported type or option.
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& config);
// Same from JSON text (for tests).
std::unique_ptr<PreTokenizer> makePreTokenizer(std::string_view jsonText);

// The byte-level alphabet (GPT-2's bytes_to_unicode): byte -> UTF-8 of its stand-in char.
const std::string& byteLevelChar(unsigned char byte);
// Inverse: code point -> byte, or -1 for chars outside the alphabet.
int byteLevelByte(char32_t cp);

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// tokenizers' NormalizedString::split, streamed: fed with the matches of a pattern in a text,
// in order, it emits the ranges to keep. `invert` swaps matches and the text between them.
class Splitter {
public:
    Splitter(SplitBehavior behavior, bool invert, std::function<void(ByteRange)> onRange)
        : behavior_(behavior), invert_(invert), emit_(std::move(onRange)) {}
    void match(size_t begin, size_t end);
    void finish(size_t textSize);

private:
    void part(ByteRange range, bool isMatch);

    SplitBehavior behavior_;
    bool invert_;
    std::function<void(ByteRange)> emit_;
    size_t end_ = 0;  // end of the last part
    bool anyPart_ = false;
    bool hasPending_ = false;  // a range waiting to see what follows it
    ByteRange pending_{};
    bool pendingIsMatch_ = false;
    bool previousMatch_ = false;
};

}  // namespace ls::tok
