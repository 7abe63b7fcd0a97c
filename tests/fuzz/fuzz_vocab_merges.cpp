// vocab.json + merges.txt (GPT-2's layout). The input is vocab.json, "\n@@@@\n", merges.txt.
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto [vocab, merges] = ls::fuzz::splitTwo({reinterpret_cast<const char*>(data), size});
    auto vocabPath = ls::fuzz::writeScratch("vocab.json", vocab);
    auto mergesPath = ls::fuzz::writeScratch("merges.txt", merges);
    return ls::fuzz::expectOnlyLsErrors([&] {
        ls::Tokenizer tok = ls::Tokenizer::fromVocabAndMerges(vocabPath, mergesPath);
        tok.decode(tok.encode("Hello world, it's 2026!\n  caf\xc3\xa9 \xf0\x9f\x98\x80 x"));
    });
}
