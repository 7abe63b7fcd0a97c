#include "tokenizer/normalizer.h"

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include "common/utf8.h"
#include "tokenizer/config_util.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode_props.h"

namespace ls::tok {

using nlohmann::json;

namespace {

class SequenceNorm final : public Normalizer {
public:
    explicit SequenceNorm(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
    void normalize(std::string& text) const override {
        for (const auto& step : steps_) step->normalize(text);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

class PrependNorm final : public Normalizer {
public:
    explicit PrependNorm(std::string prefix) : prefix_(std::move(prefix)) {}
    void normalize(std::string& text) const override {
        if (!text.empty()) text.insert(0, prefix_);  // Rust leaves empty text alone
    }

private:
    std::string prefix_;
};

class ReplaceNorm final : public Normalizer {
public:
    ReplaceNorm(const json& pattern, std::string content) : pattern_(pattern), content_(std::move(content)) {}
    void normalize(std::string& text) const override { text = pattern_.replaceAll(text, content_); }

private:
    Pattern pattern_;
    std::string content_;
};

class UnicodeNorm final : public Normalizer {
public:
    explicit UnicodeNorm(const icu::Normalizer2& form) : form_(form) {}
    void normalize(std::string& text) const override {
        UErrorCode status = U_ZERO_ERROR;
        const icu::UnicodeString normalized = form_.normalize(icu::UnicodeString::fromUTF8(text), status);
        if (U_FAILURE(status)) throw std::runtime_error(std::string("Unicode normalization failed: ") + u_errorName(status));
        text.clear();
        normalized.toUTF8String(text);
    }

private:
    const icu::Normalizer2& form_;
};

// Rewrites text character by character: map(c, its UTF-8 bytes, out) appends what c becomes.
template <typename Map>
void mapCharacters(std::string& text, Map map) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const size_t start = i;
        const char32_t c = utf8::next(text, i);
        map(c, std::string_view(text).substr(start, i - start), out);
    }
    text = std::move(out);
}

// Each character on its own through its full lowercase mapping (Rust's char::to_lowercase:
// no context rules such as Greek final sigma).
class LowercaseNorm final : public Normalizer {
public:
    void normalize(std::string& text) const override {
        mapCharacters(text, [](char32_t c, std::string_view, std::string& out) {
            if (c < 0x80) {
                out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
                return;
            }
            icu::UnicodeString s(static_cast<UChar32>(c));
            s.toLower(icu::Locale::getRoot());
            s.toUTF8String(out);
        });
    }
};

class StripNorm final : public Normalizer {
public:
    StripNorm(bool left, bool right) : left_(left), right_(right) {}
    void normalize(std::string& text) const override {
        size_t begin = 0, end = text.size();
        if (left_) {
            size_t i = 0;
            while (i < end) {
                size_t next = i;
                if (!isWhitespace(utf8::next(text, next))) break;
                i = next;
            }
            begin = i;
        }
        if (right_) {
            // Walk forward remembering where the last non-space character ended.
            size_t i = begin, lastEnd = begin;
            while (i < end) {
                const char32_t c = utf8::next(text, i);
                if (!isWhitespace(c)) lastEnd = i;
            }
            end = lastEnd;
        }
        text = text.substr(begin, end - begin);
    }

private:
    bool left_, right_;
};

// Removes combining marks (general category M), as Rust's StripAccents.
class StripAccentsNorm final : public Normalizer {
public:
    void normalize(std::string& text) const override {
        mapCharacters(text, [](char32_t c, std::string_view bytes, std::string& out) {
            if ((U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_M_MASK) == 0) out.append(bytes);
        });
    }
};

const icu::Normalizer2& icuForm(const std::string& type) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* form = type == "NFC"    ? icu::Normalizer2::getNFCInstance(status)
                                   : type == "NFD"  ? icu::Normalizer2::getNFDInstance(status)
                                   : type == "NFKC" ? icu::Normalizer2::getNFKCInstance(status)
                                                    : icu::Normalizer2::getNFKDInstance(status);
    if (U_FAILURE(status) || !form) throw std::runtime_error("ICU has no " + type + " data");
    return *form;
}

}  // namespace

std::unique_ptr<Normalizer> makeNormalizer(const json& config) {
    if (config.is_null()) return nullptr;
    const std::string type = config.at("type").get<std::string>();
    if (type == "Sequence") return std::make_unique<SequenceNorm>(sequenceSteps<Normalizer>(config, "normalizers", makeNormalizer));
    if (type == "Prepend") return std::make_unique<PrependNorm>(config.at("prepend").get<std::string>());
    if (type == "Replace")
        return std::make_unique<ReplaceNorm>(config.at("pattern"), config.at("content").get<std::string>());
    if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD")
        return std::make_unique<UnicodeNorm>(icuForm(type));
    if (type == "Lowercase") return std::make_unique<LowercaseNorm>();
    if (type == "Strip")
        return std::make_unique<StripNorm>(config.value("strip_left", false), config.value("strip_right", false));
    if (type == "StripAccents") return std::make_unique<StripAccentsNorm>();
    throw std::runtime_error("normalizer type \"" + type + "\" is not supported");
}

}  // namespace ls::tok
