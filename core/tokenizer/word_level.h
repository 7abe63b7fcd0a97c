#pragma once
// Word-level vocabularies for models trained in the workbench: the topK most frequent
// whitespace-separated words of a corpus plus an unknown token, written as a standard
// Hugging Face tokenizer.json (model "WordLevel", pre-tokenizer "WhitespaceSplit",
// decoder joining words with spaces), so other tools read it too.
#include <string>
#include <string_view>

namespace ls {

inline constexpr const char* kWordLevelUnknown = "[UNK]";

// Ids: 0 = "[UNK]", then words by descending count, ties in byte order.
// Throws ls::Error if the corpus has no words or topK < 1.
std::string buildWordLevelTokenizerJson(std::string_view corpus, int topK);

}  // namespace ls
