#pragma once
// Decoders of tokenizer.json (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace,
// BPEDecoder, Sequence), with the Rust `tokenizers` library's behaviour.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ls::tok {

class Decoder {
public:
    virtual ~Decoder() = default;
    // Rust's decode_chain. `singleToken` asks for the text one token stands for on its own:
    // steps that only tidy the start of a whole text (Strip, Metaspace's first "▁") are skipped.
    virtual void decodeChain(std::vector<std::string>& tokens, bool singleToken) const = 0;
};

// nullptr for a JSON null. Throws std::runtime_error naming an unsupported type.
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& config);

}  // namespace ls::tok
