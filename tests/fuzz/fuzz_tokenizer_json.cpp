// tokenizer.json (BPE byte-level, sentencepiece-style BPE, WordLevel): parsing, then
// encoding and decoding a fixed text with whatever tokenizer the input describes.
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    return ls::fuzz::expectOnlyLsErrors([&] {
        // No tokenizer_config.json next to it: the folder is the scratch folder.
        ls::Tokenizer tok = ls::Tokenizer::fromTokenizerJsonText(text, ls::fuzz::scratchDir() / "tokenizer.json");
        const auto ids = tok.encode("Hello world, it's 2026!\n  caf\xc3\xa9 \xf0\x9f\x98\x80 <|endoftext|> x", true);
        tok.decode(ids);
        for (int32_t id : {0, 1, tok.vocabSize() - 1, tok.vocabSize()}) {
            tok.tokenString(id);
            tok.tokenText(id);
        }
    });
}
