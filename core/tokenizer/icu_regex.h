#pragma once
// Regular expressions of tokenizer.json (written for Oniguruma, which the reference Rust
// library uses) run with ICU's engine directly on UTF-8 text.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::tok {

using ByteRange = std::pair<size_t, size_t>;  // [begin, end) in bytes

class Regex {
public:
    // Throws std::runtime_error with ICU's message if the pattern does not compile.
    // `oniguruma` = true translates the few escapes whose meaning differs in ICU
    // (\w, \W, \h, \H); false takes an ICU pattern as is.
    explicit Regex(std::string_view pattern, bool oniguruma = true);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Calls onMatch(begin, end) for the successive non-overlapping matches in `text` (valid
    // UTF-8), left to right. Like the reference, an empty match right where the previous
    // match ended is skipped. Thread-safe.
    void forEachMatch(std::string_view text, const std::function<void(size_t, size_t)>& onMatch) const;
    std::vector<ByteRange> findAll(std::string_view text) const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Oniguruma -> ICU pattern translation (exposed for tests).
std::string onigurumaToIcu(std::string_view pattern);

}  // namespace ls::tok
