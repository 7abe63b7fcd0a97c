#pragma once
// The {"String": "..."} / {"Regex": "..."} patterns of Split, Replace (normalizer and decoder).
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/icu_regex.h"

namespace ls::tok {

class Pattern {
public:
    // Throws std::runtime_error for a malformed pattern object or regex.
    explicit Pattern(const nlohmann::json& config);

    // Non-overlapping matches, left to right.
    void forEachMatch(std::string_view text, const std::function<void(size_t, size_t)>& onMatch) const;
    std::vector<ByteRange> findAll(std::string_view text) const;
    // Every match replaced by `content` taken literally.
    std::string replaceAll(std::string_view text, std::string_view content) const;

private:
    std::unique_ptr<Regex> regex_;
    std::string literal_;
};

}  // namespace ls::tok
