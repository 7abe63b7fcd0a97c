#include "tokenizer/pattern.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace ls::tok {

Pattern::Pattern(const nlohmann::json& config) {
    if (config.contains("Regex"))
        regex_ = std::make_unique<Regex>(config.at("Regex").get<std::string>());
    else if (config.contains("String"))
        literal_ = config.at("String").get<std::string>();
    else
        throw std::runtime_error("pattern must have \"String\" or \"Regex\": " + config.dump());
}

void Pattern::forEachMatch(std::string_view text, const std::function<void(size_t, size_t)>& onMatch) const {
    if (regex_) return regex_->forEachMatch(text, onMatch);
    if (literal_.empty()) return;
    for (size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
        onMatch(at, at + literal_.size());
}

std::vector<ByteRange> Pattern::findAll(std::string_view text) const {
    std::vector<ByteRange> found;
    forEachMatch(text, [&](size_t begin, size_t end) { found.emplace_back(begin, end); });
    return found;
}

std::string Pattern::replaceAll(std::string_view text, std::string_view content) const {
    std::string out;
    out.reserve(text.size());
    size_t prev = 0;
    for (const ByteRange& m : findAll(text)) {
        out.append(text.substr(prev, m.first - prev));
        out.append(content);
        prev = m.second;
    }
    out.append(text.substr(prev));
    return out;
}

}  // namespace ls::tok
