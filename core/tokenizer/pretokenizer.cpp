#include "tokenizer/pretokenizer.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "tokenizer/config_util.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode_props.h"

namespace ls::tok {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Splitting

void Splitter::match(size_t begin, size_t end) {
    if (begin > end_) part({end_, begin}, invert_);
    part({begin, end}, !invert_);
    end_ = end;
}

void Splitter::finish(size_t textSize) {
    if (end_ != textSize || !anyPart_) part({end_, textSize}, invert_);
    if (hasPending_) emit_(pending_);
    hasPending_ = false;
}

void Splitter::part(ByteRange range, bool isMatch) {
    anyPart_ = true;
    const auto flushThenHold = [&] {
        if (hasPending_) emit_(pending_);
        pending_ = range;
        pendingIsMatch_ = isMatch;
        hasPending_ = true;
    };
    switch (behavior_) {
    case SplitBehavior::Isolated:
        emit_(range);
        break;
    case SplitBehavior::Removed:
        if (!isMatch) emit_(range);
        break;
    case SplitBehavior::Contiguous:  // runs of matches become one piece
        if (hasPending_ && isMatch == previousMatch_)
            pending_.second = range.second;
        else
            flushThenHold();
        break;
    case SplitBehavior::MergedWithPrevious:  // a match joins the piece before it
        if (hasPending_ && isMatch && !previousMatch_)
            pending_.second = range.second;
        else
            flushThenHold();
        break;
    case SplitBehavior::MergedWithNext:  // a match joins the piece after it, if that is no match
        if (hasPending_ && pendingIsMatch_ && !isMatch) {
            emit_({pending_.first, range.second});
            hasPending_ = false;
        } else if (isMatch) {
            flushThenHold();
        } else {
            if (hasPending_) emit_(pending_);
            hasPending_ = false;
            emit_(range);
        }
        break;
    }
    previousMatch_ = isMatch;
}

std::vector<Piece> PreTokenizer::pieces(Piece piece) const {
    std::vector<Piece> out;
    split(std::move(piece), [&](Piece&& p) { out.push_back(std::move(p)); });
    return out;
}

namespace {

// Splits `piece` at the matches that `findMatches(text, onMatch)` reports, handing each
// kept sub-piece to `sink`.
template <typename FindMatches>
void splitPiece(const Piece& piece, SplitBehavior behavior, bool invert, const FindMatches& findMatches,
                const PieceSink& sink) {
    Splitter splitter(behavior, invert, [&](ByteRange r) {
        if (r.first < r.second)
            sink(Piece{piece.text.substr(r.first, r.second - r.first), piece.atStart && r.first == 0});
    });
    findMatches(std::string_view(piece.text), [&](size_t begin, size_t end) { splitter.match(begin, end); });
    splitter.finish(piece.text.size());
}

// Matches of a per-character predicate, one per character (tokenizers' `impl Pattern for Fn(char)`).
template <typename Pred>
auto charMatches(Pred pred) {
    return [pred](std::string_view text, const std::function<void(size_t, size_t)>& onMatch) {
        size_t i = 0;
        while (i < text.size()) {
            const size_t start = i;
            if (pred(utf8::next(text, i))) onMatch(start, i);
        }
    };
}

auto patternMatches(const Pattern& pattern) {
    return [&pattern](std::string_view text, const std::function<void(size_t, size_t)>& onMatch) {
        pattern.forEachMatch(text, onMatch);
    };
}

auto regexMatches(const Regex& regex) {
    return [&regex](std::string_view text, const std::function<void(size_t, size_t)>& onMatch) {
        regex.forEachMatch(text, onMatch);
    };
}

SplitBehavior parseBehavior(const std::string& name) {
    if (name == "Removed") return SplitBehavior::Removed;
    if (name == "Isolated") return SplitBehavior::Isolated;
    if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (name == "Contiguous") return SplitBehavior::Contiguous;
    throw std::runtime_error("unknown split behavior \"" + name + "\"");
}

class SequencePre final : public PreTokenizer {
public:
    explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
    void split(Piece piece, const PieceSink& sink) const override { run(0, std::move(piece), sink); }

private:
    // Each piece of step k goes through steps k+1.. before the next piece of step k is cut.
    void run(size_t step, Piece piece, const PieceSink& sink) const {
        if (step == steps_.size()) return sink(std::move(piece));
        steps_[step]->split(std::move(piece), [this, step, &sink](Piece&& p) { run(step + 1, std::move(p), sink); });
    }

    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class SplitPre final : public PreTokenizer {
public:
    SplitPre(const json& pattern, SplitBehavior behavior, bool invert)
        : pattern_(pattern), behavior_(behavior), invert_(invert) {}
    void split(Piece piece, const PieceSink& sink) const override {
        splitPiece(piece, behavior_, invert_, patternMatches(pattern_), sink);
    }

private:
    Pattern pattern_;
    SplitBehavior behavior_;
    bool invert_;
};

class DigitsPre final : public PreTokenizer {
public:
    explicit DigitsPre(bool individual) : individual_(individual) {}
    void split(Piece piece, const PieceSink& sink) const override {
        // Rust's char::is_numeric: any Unicode number (Nd, Nl, No), not just 0-9.
        splitPiece(piece, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false,
                   charMatches(isNumeric), sink);
    }

private:
    bool individual_;
};

// Every byte becomes a printable stand-in character, so the vocabulary needs no spaces or
// control characters.
Piece toByteLevel(Piece&& piece) {
    std::string mapped;
    mapped.reserve(piece.text.size() + piece.text.size() / 2);
    for (const char c : piece.text) mapped += byteLevelChar(static_cast<unsigned char>(c));
    piece.text = std::move(mapped);
    return std::move(piece);
}

// The GPT-2 pattern used by ByteLevel(use_regex = true).
const Regex& gpt2Regex() {
    static const Regex regex("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    return regex;
}

class ByteLevelPre final : public PreTokenizer {
public:
    ByteLevelPre(bool addPrefixSpace, bool useRegex) : addPrefixSpace_(addPrefixSpace), useRegex_(useRegex) {}
    void split(Piece piece, const PieceSink& sink) const override {
        if (addPrefixSpace_ && (piece.text.empty() || piece.text[0] != ' ')) piece.text.insert(0, 1, ' ');
        if (!useRegex_) {
            if (!piece.text.empty()) sink(toByteLevel(std::move(piece)));
            return;
        }
        splitPiece(piece, SplitBehavior::Isolated, false, regexMatches(gpt2Regex()),
                   [&sink](Piece&& p) { sink(toByteLevel(std::move(p))); });
    }

private:
    bool addPrefixSpace_;
    bool useRegex_;
};

class MetaspacePre final : public PreTokenizer {
public:
    enum class Prepend { Always, First, Never };
    MetaspacePre(char32_t replacement, Prepend prepend, bool split)
        : replacement_(utf8::encode(replacement)),
          replacementPattern_(json{{"String", replacement_}}),
          prepend_(prepend),
          split_(split) {}
    void split(Piece piece, const PieceSink& sink) const override {
        std::string replaced;
        replaced.reserve(piece.text.size() + 8);
        for (const char c : piece.text) {
            if (c == ' ')
                replaced += replacement_;
            else
                replaced += c;
        }
        const bool startsWithReplacement = replaced.compare(0, replacement_.size(), replacement_) == 0;
        if (!startsWithReplacement && (prepend_ == Prepend::Always || (prepend_ == Prepend::First && piece.atStart)))
            replaced.insert(0, replacement_);
        piece.text = std::move(replaced);
        if (!split_) {
            if (!piece.text.empty()) sink(std::move(piece));
            return;
        }
        splitPiece(piece, SplitBehavior::MergedWithNext, false, patternMatches(replacementPattern_), sink);
    }

private:
    std::string replacement_;
    Pattern replacementPattern_;
    Prepend prepend_;
    bool split_;
};

// Whitespace: \w+|[^\w\s]+ with the Rust regex crate's Unicode classes, which are ICU's.
class WhitespacePre final : public PreTokenizer {
public:
    WhitespacePre() : regex_("\\w+|[^\\w\\s]+", /*oniguruma=*/false) {}
    void split(Piece piece, const PieceSink& sink) const override {
        splitPiece(piece, SplitBehavior::Removed, /*invert=*/true, regexMatches(regex_), sink);
    }

private:
    Regex regex_;
};

class WhitespaceSplitPre final : public PreTokenizer {
public:
    void split(Piece piece, const PieceSink& sink) const override {
        splitPiece(piece, SplitBehavior::Removed, false, charMatches(isWhitespace), sink);
    }
};

}  // namespace

std::unique_ptr<PreTokenizer> makePreTokenizer(const json& config) {
    if (config.is_null()) return nullptr;
    const std::string type = config.at("type").get<std::string>();
    if (type == "Sequence") return std::make_unique<SequencePre>(sequenceSteps<PreTokenizer>(config, "pretokenizers", makePreTokenizer));
    if (type == "Split")
        return std::make_unique<SplitPre>(config.at("pattern"),
                                          parseBehavior(config.at("behavior").get<std::string>()),
                                          config.value("invert", false));
    if (type == "Digits") return std::make_unique<DigitsPre>(config.value("individual_digits", false));
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelPre>(config.value("add_prefix_space", true), config.value("use_regex", true));
    if (type == "Metaspace") {
        const char32_t replacement = requireChar(config.value("replacement", std::string("\xE2\x96\x81")),
                                                "Metaspace replacement");
        MetaspacePre::Prepend prepend = MetaspacePre::Prepend::Always;
        const std::string scheme = config.value("prepend_scheme", std::string("always"));
        if (scheme == "first")
            prepend = MetaspacePre::Prepend::First;
        else if (scheme == "never")
            prepend = MetaspacePre::Prepend::Never;
        else if (scheme != "always")
            throw std::runtime_error("unknown Metaspace prepend_scheme \"" + scheme + "\"");
        // Older files: add_prefix_space false means "never".
        if (config.contains("add_prefix_space") && config["add_prefix_space"].is_boolean() &&
            !config["add_prefix_space"].get<bool>())
            prepend = MetaspacePre::Prepend::Never;
        return std::make_unique<MetaspacePre>(replacement, prepend, config.value("split", true));
    }
    if (type == "Whitespace") return std::make_unique<WhitespacePre>();
    if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPre>();
    throw std::runtime_error("pre_tokenizer type \"" + type + "\" is not supported");
}

std::unique_ptr<PreTokenizer> makePreTokenizer(std::string_view jsonText) {
    return makePreTokenizer(json::parse(jsonText));
}

namespace {

struct ByteAlphabet {
    std::array<std::string, 256> charOf;
    std::array<int, 512> byteOf{};  // all stand-ins are below U+0200
    ByteAlphabet() {
        byteOf.fill(-1);
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            // Printable Latin-1 bytes stand for themselves, the others get U+0100 onwards.
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
            charOf[b] = utf8::encode(cp);
            byteOf[cp] = b;
        }
    }
};

const ByteAlphabet& byteAlphabet() {
    static const ByteAlphabet alphabet;
    return alphabet;
}

}  // namespace

const std::string& byteLevelChar(unsigned char byte) { return byteAlphabet().charOf[byte]; }

int byteLevelByte(char32_t cp) { return cp < 512 ? byteAlphabet().byteOf[cp] : -1; }

}  // namespace ls::tok
