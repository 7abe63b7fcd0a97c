#pragma once
// Small checks shared by the tokenizer.json component factories.
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/utf8.h"

namespace ls::tok {

// Options such as Metaspace's "replacement" must be exactly one character.
inline char32_t requireChar(const std::string& s, const char* what) {
    if (const auto c = utf8::onlyChar(s)) return *c;
    throw std::runtime_error(std::string(what) + " must be a single character, not \"" + s + "\"");
}

// The steps of a "Sequence" component (normalizer, pre-tokenizer, decoder), listed under
// listKey, each made by make; a null step is none and left out.
template <typename Component>
std::vector<std::unique_ptr<Component>> sequenceSteps(const nlohmann::json& config, const char* listKey,
                                                      std::unique_ptr<Component> (*make)(const nlohmann::json&)) {
    std::vector<std::unique_ptr<Component>> steps;
    for (const nlohmann::json& step : config.at(listKey))
        if (auto made = make(step)) steps.push_back(std::move(made));
    return steps;
}

}  // namespace ls::tok
