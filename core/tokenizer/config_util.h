#pragma once
// Small checks shared by the tokenizer.json component factories.
#include <stdexcept>
#include <string>

#include "common/utf8.h"

namespace ls::tok {

// Options such as Metaspace's "replacement" must be exactly one character.
inline char32_t requireChar(const std::string& s, const char* what) {
    if (const auto c = utf8::onlyChar(s)) return *c;
    throw std::runtime_error(std::string(what) + " must be a single character, not \"" + s + "\"");
}

}  // namespace ls::tok
