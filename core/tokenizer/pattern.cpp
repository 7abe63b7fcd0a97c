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

std::vector<ByteRange> Pattern::findAll(std::string_view text) const {
    if (regex_) return regex_->findAll(text);
    std::vector<ByteRange> found;
    if (literal_.empty()) return found;
    for (size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
        found.emplace_back(at, at + literal_.size());
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
