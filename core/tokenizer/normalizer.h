#pragma once
// Normalizers of tokenizer.json (Sequence, Prepend, Replace, NFC/NFD/NFKC/NFKD, Lowercase,
// Strip, StripAccents), with the Rust `tokenizers` library's behaviour.
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace ls::tok {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void normalize(std::string& text) const = 0;
};

// nullptr for a JSON null. Throws std::runtime_error naming an unsupported type.
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& config);

}  // namespace ls::tok
