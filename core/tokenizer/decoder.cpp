#include "tokenizer/decoder.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "tokenizer/config_util.h"
#include "tokenizer/pattern.h"
#include "tokenizer/pretokenizer.h"

namespace ls::tok {

using nlohmann::json;

namespace {

class SequenceDec final : public Decoder {
public:
    explicit SequenceDec(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
    void decodeChain(std::vector<std::string>& tokens, bool singleToken) const override {
        for (const auto& step : steps_) step->decodeChain(tokens, singleToken);
    }

private:
    std::vector<std::unique_ptr<Decoder>> steps_;
};

// All tokens' bytes joined, then read as UTF-8 with U+FFFD for invalid bytes. A token with
// a character outside the byte alphabet (an added token such as "<|im start|>") counts
// with its own UTF-8 bytes.
class ByteLevelDec final : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens, bool) const override {
        std::string bytes;
        for (const std::string& token : tokens) {
            const size_t mark = bytes.size();
            size_t i = 0;
            bool inAlphabet = true;
            while (i < token.size()) {
                const int b = byteLevelByte(utf8::next(token, i));
                if (b < 0) {
                    inAlphabet = false;
                    break;
                }
                bytes += static_cast<char>(b);
            }
            if (!inAlphabet) {
                bytes.resize(mark);
                bytes += token;
            }
        }
        tokens.assign(1, utf8::lossy(bytes));
    }
};

class ReplaceDec final : public Decoder {
public:
    ReplaceDec(const json& pattern, std::string content) : pattern_(pattern), content_(std::move(content)) {}
    void decodeChain(std::vector<std::string>& tokens, bool) const override {
        for (std::string& token : tokens) token = pattern_.replaceAll(token, content_);
    }

private:
    Pattern pattern_;
    std::string content_;
};

// Runs of "<0xNN>" tokens become the text of their bytes; if those bytes are not valid
// UTF-8, Rust gives one U+FFFD per byte (not per invalid sequence).
class ByteFallbackDec final : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens, bool) const override {
        std::vector<std::string> out;
        std::string bytes;
        const auto flush = [&] {
            if (bytes.empty()) return;
            if (!utf8::firstInvalidByte(bytes)) {
                out.push_back(bytes);
            } else {
                for (size_t k = 0; k < bytes.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
            }
            bytes.clear();
        };
        for (std::string& token : tokens) {
            int byte = -1;
            if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') byte = parseHex(token[3], token[4]);
            if (byte >= 0) {
                bytes += static_cast<char>(byte);
            } else {
                flush();
                out.push_back(std::move(token));
            }
        }
        flush();
        tokens = std::move(out);
    }

private:
    static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    static int parseHex(char hi, char lo) {
        const int h = hexDigit(hi), l = hexDigit(lo);
        return h < 0 || l < 0 ? -1 : h * 16 + l;
    }
};

class FuseDec final : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens, bool) const override {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, std::move(all));
    }
};

// Removes up to `start` leading and `stop` trailing `content` characters from each token.
class StripDec final : public Decoder {
public:
    StripDec(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
    void decodeChain(std::vector<std::string>& tokens, bool singleToken) const override {
        if (singleToken) return;
        for (std::string& token : tokens) {
            std::vector<size_t> bounds;  // byte offset of each character, plus the end
            std::vector<char32_t> chars;
            size_t i = 0;
            while (i < token.size()) {
                bounds.push_back(i);
                chars.push_back(utf8::next(token, i));
            }
            bounds.push_back(token.size());
            size_t startCut = 0, stopCut = chars.size();
            for (size_t k = 0; k < start_ && k < chars.size() && chars[k] == content_; ++k) startCut = k + 1;
            for (size_t k = 0; k < stop_ && k < chars.size() && chars[chars.size() - 1 - k] == content_; ++k)
                stopCut = chars.size() - 1 - k;
            token = stopCut > startCut ? token.substr(bounds[startCut], bounds[stopCut] - bounds[startCut]) : std::string();
        }
    }

private:
    char32_t content_;
    size_t start_, stop_;
};

// Each "▁" becomes a space, except in the first token (unless prepend_scheme is "never"),
// where Rust drops them.
class MetaspaceDec final : public Decoder {
public:
    MetaspaceDec(char32_t replacement, bool prependNever) : replacement_(replacement), prependNever_(prependNever) {}
    void decodeChain(std::vector<std::string>& tokens, bool singleToken) const override {
        for (size_t t = 0; t < tokens.size(); ++t) {
            const bool drop = t == 0 && !prependNever_ && !singleToken;
            std::string out;
            size_t i = 0;
            while (i < tokens[t].size()) {
                const size_t start = i;
                const char32_t c = utf8::next(tokens[t], i);
                if (c != replacement_)
                    out.append(tokens[t], start, i - start);
                else if (!drop)
                    out += ' ';
            }
            tokens[t] = std::move(out);
        }
    }

private:
    char32_t replacement_;
    bool prependNever_;
};

// WordPiece: "##" continues the previous token, other tokens get a space before them.
class WordPieceDec final : public Decoder {
public:
    WordPieceDec(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
    void decodeChain(std::vector<std::string>& tokens, bool singleToken) const override {
        for (size_t t = 0; t < tokens.size(); ++t) {
            if (t > 0 || singleToken) {
                if (tokens[t].compare(0, prefix_.size(), prefix_) == 0)
                    tokens[t].erase(0, prefix_.size());
                else if (t > 0)
                    tokens[t].insert(0, 1, ' ');
            }
            if (cleanup_) tokens[t] = cleanUp(tokens[t]);
        }
    }

private:
    // tokenizers' wordpiece::cleanup: glue punctuation and English contractions back.
    static std::string cleanUp(std::string text) {
        static const std::vector<std::pair<Pattern, std::string>> rules = [] {
            std::vector<std::pair<Pattern, std::string>> r;
            for (const auto& [from, to] : {std::pair<const char*, const char*>{" .", "."}, {" ?", "?"}, {" !", "!"},
                                           {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"},
                                           {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}})
                r.emplace_back(Pattern(json{{"String", from}}), to);
            return r;
        }();
        for (const auto& [pattern, to] : rules) text = pattern.replaceAll(text, to);
        return text;
    }

    std::string prefix_;
    bool cleanup_;
};

// Classic BPE end-of-word suffix: becomes a space, or nothing on the last token.
class BpeDec final : public Decoder {
public:
    explicit BpeDec(const std::string& suffix) : suffix_(json{{"String", suffix}}) {}
    void decodeChain(std::vector<std::string>& tokens, bool) const override {
        for (size_t t = 0; t < tokens.size(); ++t)
            tokens[t] = suffix_.replaceAll(tokens[t], t + 1 == tokens.size() ? "" : " ");
    }

private:
    Pattern suffix_;
};

}  // namespace

std::unique_ptr<Decoder> makeDecoder(const json& config) {
    if (config.is_null()) return nullptr;
    const std::string type = config.at("type").get<std::string>();
    if (type == "Sequence") return std::make_unique<SequenceDec>(sequenceSteps<Decoder>(config, "decoders", makeDecoder));
    if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
    if (type == "Replace") return std::make_unique<ReplaceDec>(config.at("pattern"), config.at("content").get<std::string>());
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
    if (type == "Fuse") return std::make_unique<FuseDec>();
    if (type == "Strip")
        return std::make_unique<StripDec>(requireChar(config.at("content").get<std::string>(), "Strip content"),
                                          config.value("start", size_t{0}), config.value("stop", size_t{0}));
    if (type == "Metaspace") {
        const std::string scheme = config.value("prepend_scheme", std::string("always"));
        const bool never = scheme == "never" || (config.contains("add_prefix_space") &&
                                                 config["add_prefix_space"].is_boolean() &&
                                                 !config["add_prefix_space"].get<bool>());
        return std::make_unique<MetaspaceDec>(
            requireChar(config.value("replacement", std::string("\xE2\x96\x81")), "Metaspace replacement"), never);
    }
    if (type == "WordPiece")
        return std::make_unique<WordPieceDec>(config.value("prefix", std::string("##")), config.value("cleanup", true));
    if (type == "BPEDecoder") return std::make_unique<BpeDec>(config.value("suffix", std::string("</w>")));
    throw std::runtime_error("decoder type \"" + type + "\" is not supported");
}

}  // namespace ls::tok
