#include "tokenizer/pretokenizer.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tokenizer/config_util.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode_props.h"
#include "tokenizer/utf8.h"

namespace ls::tok {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Splitting

std::vector<ByteRange> splitRanges(size_t size, const std::vector<ByteRange>& matches,
                                   SplitBehavior behavior, bool invert) {
    // Every byte of the text as (range, is_match), as tokenizers' Pattern::find_matches.
    std::vector<std::pair<ByteRange, bool>> parts;
    size_t prev = 0;
    for (const ByteRange& m : matches) {
        if (prev != m.first) parts.push_back({{prev, m.first}, invert});
        parts.push_back({m, !invert});
        prev = m.second;
    }
    if (prev != size || parts.empty()) parts.push_back({{prev, size}, invert});

    std::vector<ByteRange> out;
    bool previousMatch = false;
    switch (behavior) {
    case SplitBehavior::Isolated:
        for (const auto& p : parts) out.push_back(p.first);
        break;
    case SplitBehavior::Removed:
        for (const auto& p : parts)
            if (!p.second) out.push_back(p.first);
        break;
    case SplitBehavior::Contiguous:
        for (const auto& [range, isMatch] : parts) {
            if (isMatch == previousMatch && !out.empty())
                out.back().second = range.second;
            else
                out.push_back(range);
            previousMatch = isMatch;
        }
        break;
    case SplitBehavior::MergedWithPrevious:
        for (const auto& [range, isMatch] : parts) {
            if (isMatch && !previousMatch && !out.empty())
                out.back().second = range.second;
            else
                out.push_back(range);
            previousMatch = isMatch;
        }
        break;
    case SplitBehavior::MergedWithNext:
        // The mirror image: walk from the end, merging each match into what follows it.
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            const auto& [range, isMatch] = *it;
            if (isMatch && !previousMatch && !out.empty())
                out.back().first = range.first;
            else
                out.push_back(range);
            previousMatch = isMatch;
        }
        std::reverse(out.begin(), out.end());
        break;
    }
    return out;
}

namespace {

// Replaces each piece by its non-empty sub-ranges.
template <typename RangesOf>
void splitEach(std::vector<Piece>& pieces, RangesOf rangesOf) {
    std::vector<Piece> out;
    out.reserve(pieces.size());
    for (Piece& piece : pieces) {
        const std::vector<ByteRange> ranges = rangesOf(piece.text);
        if (ranges.size() == 1 && ranges[0].first == 0 && ranges[0].second == piece.text.size()) {
            if (!piece.text.empty()) out.push_back(std::move(piece));
            continue;
        }
        for (const ByteRange& r : ranges) {
            if (r.first == r.second) continue;
            out.push_back({piece.text.substr(r.first, r.second - r.first), piece.atStart && r.first == 0});
        }
    }
    pieces = std::move(out);
}

// Matches of a per-character predicate, one per character (tokenizers' `impl Pattern for Fn(char)`).
template <typename Pred>
std::vector<ByteRange> charMatches(std::string_view text, Pred pred) {
    std::vector<ByteRange> matches;
    size_t i = 0;
    while (i < text.size()) {
        const size_t start = i;
        const char32_t c = utf8::next(text, i);
        if (pred(c)) matches.emplace_back(start, i);
    }
    return matches;
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
    void apply(std::vector<Piece>& pieces) const override {
        for (const auto& step : steps_) step->apply(pieces);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class SplitPre final : public PreTokenizer {
public:
    SplitPre(const json& pattern, SplitBehavior behavior, bool invert)
        : pattern_(pattern), behavior_(behavior), invert_(invert) {}
    void apply(std::vector<Piece>& pieces) const override {
        splitEach(pieces, [&](const std::string& text) {
            return splitRanges(text.size(), pattern_.findAll(text), behavior_, invert_);
        });
    }

private:
    Pattern pattern_;
    SplitBehavior behavior_;
    bool invert_;
};

class DigitsPre final : public PreTokenizer {
public:
    explicit DigitsPre(bool individual) : individual_(individual) {}
    void apply(std::vector<Piece>& pieces) const override {
        splitEach(pieces, [&](const std::string& text) {
            // Rust's char::is_numeric: any Unicode number (Nd, Nl, No), not just 0-9.
            return splitRanges(text.size(), charMatches(text, isNumeric),
                               individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
        });
    }

private:
    bool individual_;
};

class ByteLevelPre final : public PreTokenizer {
public:
    ByteLevelPre(bool addPrefixSpace, bool useRegex) : addPrefixSpace_(addPrefixSpace), useRegex_(useRegex) {}
    void apply(std::vector<Piece>& pieces) const override {
        if (addPrefixSpace_)
            for (Piece& p : pieces)
                if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, 1, ' ');
        if (useRegex_)
            splitEach(pieces, [](const std::string& text) {
                return splitRanges(text.size(), gpt2Regex().findAll(text), SplitBehavior::Isolated);
            });
        // Every byte becomes a printable stand-in character, so the vocabulary needs no
        // spaces or control characters.
        for (Piece& p : pieces) {
            std::string mapped;
            mapped.reserve(p.text.size() + p.text.size() / 2);
            for (const char c : p.text) mapped += byteLevelChar(static_cast<unsigned char>(c));
            p.text = std::move(mapped);
        }
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
    void apply(std::vector<Piece>& pieces) const override {
        for (Piece& p : pieces) {
            std::string replaced;
            replaced.reserve(p.text.size() + 8);
            for (const char c : p.text) {
                if (c == ' ')
                    replaced += replacement_;
                else
                    replaced += c;
            }
            const bool startsWithReplacement = replaced.compare(0, replacement_.size(), replacement_) == 0;
            if (!startsWithReplacement &&
                (prepend_ == Prepend::Always || (prepend_ == Prepend::First && p.atStart)))
                replaced.insert(0, replacement_);
            p.text = std::move(replaced);
        }
        if (split_)
            splitEach(pieces, [&](const std::string& text) {
                return splitRanges(text.size(), replacementPattern_.findAll(text), SplitBehavior::MergedWithNext);
            });
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
    void apply(std::vector<Piece>& pieces) const override {
        splitEach(pieces, [&](const std::string& text) {
            return splitRanges(text.size(), regex_.findAll(text), SplitBehavior::Removed, /*invert=*/true);
        });
    }

private:
    Regex regex_;
};

class WhitespaceSplitPre final : public PreTokenizer {
public:
    void apply(std::vector<Piece>& pieces) const override {
        splitEach(pieces, [](const std::string& text) {
            return splitRanges(text.size(), charMatches(text, isWhitespace), SplitBehavior::Removed);
        });
    }
};

}  // namespace

std::unique_ptr<PreTokenizer> makePreTokenizer(const json& config) {
    if (config.is_null()) return nullptr;
    const std::string type = config.at("type").get<std::string>();
    if (type == "Sequence") {
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (const json& step : config.at("pretokenizers"))
            if (auto p = makePreTokenizer(step)) steps.push_back(std::move(p));
        return std::make_unique<SequencePre>(std::move(steps));
    }
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

const Regex& gpt2Regex() {
    static const Regex regex("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    return regex;
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
