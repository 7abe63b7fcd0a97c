#include "tokenizer/icu_regex.h"

#include <mutex>
#include <stdexcept>

#include <unicode/regex.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>

namespace ls::tok {

namespace {

// Oniguruma's Unicode \w: ICU's minus U+200C/U+200D, plus the Latin-1 digits/fractions
// that Oniguruma's ctype table counts as word characters.
constexpr const char* kWordChars = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u00B2\\u00B3\\u00B9\\u00BC-\\u00BE";

}  // namespace

std::string onigurumaToIcu(std::string_view p) {
    // Both dialects share almost everything tokenizers use (\p{..}, (?i:..), lookaround,
    // nested classes, \s = White_Space, \d = \p{Nd}); only these escapes differ.
    std::string out;
    int classDepth = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            const char e = p[++i];
            const bool inClass = classDepth > 0;
            switch (e) {
            case 'w': out += inClass ? std::string(kWordChars) : "[" + std::string(kWordChars) + "]"; break;
            case 'W': out += "[^" + std::string(kWordChars) + "]"; break;
            case 'h': out += "\\p{AHex}"; break;  // Oniguruma: hex digit; ICU: horizontal space
            case 'H': out += "\\P{AHex}"; break;
            default: out += c; out += e; break;
            }
            continue;
        }
        if (c == '[') ++classDepth;
        if (c == ']' && classDepth > 0) --classDepth;
        out += c;
    }
    return out;
}

struct Regex::State {
    std::unique_ptr<icu::RegexPattern> pattern;
    // RegexMatcher is not thread-safe and costly to create: keep idle ones for reuse.
    std::mutex mutex;
    std::vector<std::unique_ptr<icu::RegexMatcher>> idle;
};

Regex::Regex(std::string_view pattern, bool oniguruma) : state_(std::make_unique<State>()) {
    const std::string icuPattern = oniguruma ? onigurumaToIcu(pattern) : std::string(pattern);
    UErrorCode status = U_ZERO_ERROR;
    UParseError parseError{};
    // Oniguruma (Ruby syntax): ^ and $ are line anchors, and only \n ends a line.
    const uint32_t flags = UREGEX_MULTILINE | UREGEX_UNIX_LINES;
    state_->pattern.reset(icu::RegexPattern::compile(
        icu::UnicodeString::fromUTF8(icuPattern), flags, parseError, status));
    if (U_FAILURE(status))
        throw std::runtime_error("invalid regular expression /" + std::string(pattern) + "/: " +
                                 u_errorName(status) + " at offset " + std::to_string(parseError.offset));
}

Regex::~Regex() = default;

std::vector<ByteRange> Regex::findAll(std::string_view text) const {
    std::vector<ByteRange> matches;
    forEachMatch(text, [&](size_t begin, size_t end) { matches.emplace_back(begin, end); });
    return matches;
}

void Regex::forEachMatch(std::string_view text, const std::function<void(size_t, size_t)>& onMatch) const {
    std::unique_ptr<icu::RegexMatcher> matcher;
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        if (!state_->idle.empty()) {
            matcher = std::move(state_->idle.back());
            state_->idle.pop_back();
        }
    }
    UErrorCode status = U_ZERO_ERROR;
    if (!matcher) {
        matcher.reset(state_->pattern->matcher(status));
        // The backtracking stack grows with the length of a repeated run (\s+(?!\S) over a
        // long run of spaces): let it grow rather than fail on unusual but valid text.
        if (U_SUCCESS(status)) matcher->setStackLimit(0, status);
    }

    // A UTF-8 UText: ICU then reports native indexes, i.e. byte offsets.
    UText ut = UTEXT_INITIALIZER;
    utext_openUTF8(&ut, text.data(), static_cast<int64_t>(text.size()), &status);
    matcher->reset(&ut);

    size_t lastEnd = 0;
    bool any = false;
    while (U_SUCCESS(status) && matcher->find(status)) {
        const auto begin = static_cast<size_t>(matcher->start64(status));
        const auto end = static_cast<size_t>(matcher->end64(status));
        if (begin == end && any && begin == lastEnd) continue;
        onMatch(begin, end);
        lastEnd = end;
        any = true;
    }
    utext_close(&ut);
    if (U_FAILURE(status))
        throw std::runtime_error(std::string("regular expression matching failed: ") + u_errorName(status));

    // A matcher keeps the backtracking stack it grew: do not keep one that saw a huge text.
    if (text.size() > (1u << 20)) return;
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->idle.push_back(std::move(matcher));
}

}  // namespace ls::tok
