#pragma once
// For the dataset targets: a small byte-level BPE tokenizer (GPT-2's pre-tokenizer and
// byte alphabet, a few merges), so that text formats run their real tokenising path.
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

namespace ls::fuzz {

inline const Tokenizer& smallByteLevelTokenizer() {
    static const Tokenizer tok = [] {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100...
        auto utf8 = [](uint32_t cp) {
            std::string s;
            if (cp < 0x80) s += char(cp);
            else { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
            return s;
        };
        std::vector<std::string> byteChar(256);
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
            byteChar[b] = utf8(printable ? b : next++);
        }
        nlohmann::json vocab = nlohmann::json::object();
        for (uint32_t b = 0; b < 256; ++b) vocab[byteChar[b]] = b;
        const std::string space = byteChar[' '];
        vocab[space + "t"] = 256;
        vocab["he"] = 257;
        vocab[space + "the"] = 258;
        nlohmann::json j = {
            {"version", "1.0"},
            {"added_tokens", {{{"id", 259}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                               {"rstrip", false}, {"normalized", false}, {"special", true}}}},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
            {"post_processor", nullptr},
            {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
            {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                       {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                       {"merges", {space + " t", "h e", space + "t he"}}}},
        };
        return Tokenizer::fromTokenizerJsonText(j.dump(), scratchDir() / "tokenizer.json");
    }();
    return tok;
}

// Writes bytes to a scratch file called name and loads it as a dataset of that format.
inline int loadDatasetBytes(const std::string& name, std::string_view bytes, DataFormat format) {
    const Tokenizer& tok = smallByteLevelTokenizer();
    auto path = writeScratch(name, bytes);
    DatasetOptions options;
    options.format = format;
    return expectOnlyLsErrors([&] {
        Dataset d = loadDataset(path, &tok, 50257, options);
        // What every consumer relies on: documents start at 0, in order, within the tokens.
        if (d.documentStarts.empty() || d.documentStarts[0] != 0) __builtin_trap();
        for (size_t i = 1; i < d.documentStarts.size(); ++i)
            if (d.documentStarts[i] < d.documentStarts[i - 1] ||
                d.documentStarts[i] > static_cast<int64_t>(d.tokens.size()))
                __builtin_trap();
        for (int32_t id : d.tokens)
            if (id < 0 || id >= 50257) __builtin_trap();
    });
}

}  // namespace ls::fuzz
